package dev.mambaout.runtime;

import dev.mambaout.natives.CudaDriver;

/** A timing-capable CUDA event: record on a stream, then read the milliseconds between two of them. */
public final class Event implements AutoCloseable {
    private final CudaDriver driver;
    private final long handle;
    private boolean closed;

    Event(CudaDriver driver, long handle) {
        this.driver = driver;
        this.handle = handle;
    }

    /** The CUevent; throws once closed, so a destroyed handle never reaches the driver. */
    public long handle() {
        if (closed) throw new IllegalStateException("event already closed");
        return handle;
    }

    public void record(Stream stream) { driver.eventRecord(handle(), stream.handle()); }

    public void synchronize() { driver.eventSynchronize(handle()); }

    /** GPU time from this event to {@code end}, both recorded; waits for {@code end} to complete. */
    public float elapsedMsTo(Event end) {
        end.synchronize();
        return driver.eventElapsedMs(handle(), end.handle());
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        driver.eventDestroy(handle);
    }
}
