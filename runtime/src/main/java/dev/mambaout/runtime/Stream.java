package dev.mambaout.runtime;

import dev.mambaout.natives.CudaDriver;

/** A non-blocking CUDA stream (it does not synchronise with the legacy default stream). */
public final class Stream implements AutoCloseable {
    private final CudaDriver driver;
    private final long handle;
    private boolean closed;

    Stream(CudaDriver driver, long handle) {
        this.driver = driver;
        this.handle = handle;
    }

    /** The CUstream; throws once closed, so a destroyed handle never reaches the driver. */
    public long handle() {
        if (closed) throw new IllegalStateException("stream already closed");
        return handle;
    }

    public void synchronize() { driver.streamSynchronize(handle()); }

    /** Work queued on this stream after this call waits for {@code event}. */
    public void waitFor(Event event) { driver.streamWaitEvent(handle(), event.handle()); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        driver.streamDestroy(handle);
    }
}
