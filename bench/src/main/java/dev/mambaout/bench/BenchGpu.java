package dev.mambaout.bench;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.Event;
import dev.mambaout.runtime.Stream;

/**
 * What every benchmark trial needs on the GPU: a driver of the chosen backend, device 0 with its primary context, one
 * non-blocking stream and a pair of timing events. Opened in a trial's {@code @Setup}; closed in its {@code @TearDown}.
 */
final class BenchGpu implements AutoCloseable {

    private final CudaDriver driver;
    private final Device device;
    private final Stream stream;
    private final Event start;
    private final Event end;

    private BenchGpu(CudaDriver driver, Device device, Stream stream, Event start, Event end) {
        this.driver = driver;
        this.device = device;
        this.stream = stream;
        this.start = start;
        this.end = end;
    }

    /**
     * @throws IllegalStateException with the availability report (every path libcuda was looked for) when the backend
     *                               has no GPU: a benchmark without a GPU must fail loudly, never time nothing
     */
    static BenchGpu open(CudaDriver.Backend backend) {
        Cuda.Availability a = Cuda.availability(backend);
        if (!a.available()) {
            throw new IllegalStateException("the GPU benchmarks need a CUDA device, and the " + backend
                    + " backend found none: " + a.reason());
        }
        CudaDriver driver = Cuda.open(backend);
        Device device = Device.open(driver, 0);
        Stream stream = null;
        Event start = null;
        try {
            stream = device.newStream();
            start = device.newEvent();
            Event end = device.newEvent();
            return new BenchGpu(driver, device, stream, start, end);
        } catch (RuntimeException e) {
            if (start != null) start.close();
            if (stream != null) stream.close();
            device.close();
            throw e;
        }
    }

    CudaDriver driver() { return driver; }

    Device device() { return device; }

    Stream stream() { return stream; }

    /** Records the start event on the stream. */
    void startTiming() { start.record(stream); }

    /** Records the end event, waits for it, and returns the GPU milliseconds since {@link #startTiming()}. */
    float stopTiming() {
        end.record(stream);
        return start.elapsedMsTo(end);
    }

    /**
     * JMH may run iterations on different threads of its pool; the driver API works on the calling thread's current
     * context, so each iteration makes it current first.
     */
    void makeCurrent() { device.makeCurrent(); }

    @Override
    public void close() {
        try (device; stream; start; end) {
            stream.synchronize();
        }
    }
}
