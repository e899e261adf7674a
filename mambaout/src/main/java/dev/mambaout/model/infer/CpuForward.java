package dev.mambaout.model.infer;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;

/** The CPU executor (float storage, double accumulation) behind the inference API. */
final class CpuForward implements Executor {

    private final MambaOutConfig config;
    private final Map<String, float[]> weights;
    private final int height, width;
    private final CpuExecutor cpu = new CpuExecutor(Precision.F32);
    private final Map<Long, MambaOutGraph> graphs = new HashMap<>();

    private final int threads;

    CpuForward(MambaOutConfig config, Map<String, float[]> weights, InferenceOptions options) {
        this.config = config;
        this.weights = weights;
        this.height = options.height();
        this.width = options.width();
        this.threads = options.cpuThreads() > 0 ? options.cpuThreads() : Runtime.getRuntime().availableProcessors();
    }

    @Override
    public void forward(MemorySegment x, int batch, List<String> outputs, float[][] dst) {
        boolean features = outputs.stream().anyMatch(o -> !o.equals("logits"));
        MambaOutGraph g = graphs.computeIfAbsent(batch * 2L + (features ? 1 : 0), k -> MambaOutGraph.build(config, batch,
                height, width, MambaOutGraph.Mode.INFERENCE, MambaOutGraph.Options.DEFAULT.withFeatures(features)));
        Bindings b = new Bindings().put(g.input(), x.toArray(ValueLayout.JAVA_FLOAT));
        weights.forEach(b::put);
        Results r = inPool(g, b);
        for (int i = 0; i < outputs.size(); i++) {
            float[] v = r.floats(g.output(outputs.get(i)));
            System.arraycopy(v, 0, dst[i], 0, v.length);
        }
    }

    /** The executor's parallel loops run in the pool that calls them: a pool of the requested size. */
    private Results inPool(MambaOutGraph g, Bindings b) {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return pool.submit(() -> cpu.run(g.graph(), b)).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the CPU executor ran", e);
        } finally {
            pool.shutdownNow();
        }
    }

    @Override
    public String describe() {
        return "CPU executor (float storage, double accumulation, " + threads + " thread" + (threads == 1 ? "" : "s") + ")";
    }

    @Override
    public boolean onGpu() { return false; }

    @Override
    public void close() { graphs.clear(); }
}
