package dev.mambaout.runtime;

import dev.mambaout.natives.CudaDriver;

/**
 * Work captured from a stream once and replayed with a single launch: the host cost of many kernel launches is paid
 * at capture, not per step. The captured kernels keep the argument values they had at capture time.
 */
public final class CudaGraph implements AutoCloseable {

    private final CudaDriver driver;
    private final long graph;
    private final long exec;
    private boolean closed;

    private CudaGraph(CudaDriver driver, long graph, long exec) {
        this.driver = driver;
        this.graph = graph;
        this.exec = exec;
    }

    /**
     * Records what {@code region} queues on {@code stream} (nothing runs yet) and instantiates it. If the region
     * throws, capture is still ended so the stream is usable again, and the partial graph is discarded.
     */
    public static CudaGraph capture(CudaDriver driver, Stream stream, Runnable region) {
        driver.streamBeginCapture(stream.handle());
        try {
            region.run();
        } catch (RuntimeException | Error e) {
            try {
                long partial = driver.streamEndCapture(stream.handle());
                if (partial != 0) driver.graphDestroy(partial);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        long graph = driver.streamEndCapture(stream.handle());
        long exec;
        try {
            exec = driver.graphInstantiate(graph);
        } catch (RuntimeException e) {
            driver.graphDestroy(graph);
            throw e;
        }
        return new CudaGraph(driver, graph, exec);
    }

    /** Queues one replay of the whole graph on {@code stream}. */
    public void replay(Stream stream) {
        if (closed) throw new IllegalStateException("CUDA graph already closed");
        driver.graphLaunch(exec, stream.handle());
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            driver.graphExecDestroy(exec);
        } finally {
            driver.graphDestroy(graph);
        }
    }
}
