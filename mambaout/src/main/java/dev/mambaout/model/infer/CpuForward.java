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

/** The CPU executor (float storage, double accumulation) behind the inference API. */
final class CpuForward implements Executor {

    private final MambaOutConfig config;
    private final Map<String, float[]> weights;
    private final int height, width;
    private final CpuExecutor cpu = new CpuExecutor(Precision.F32);
    private final Map<Long, MambaOutGraph> graphs = new HashMap<>();

    CpuForward(MambaOutConfig config, Map<String, float[]> weights, int height, int width) {
        this.config = config;
        this.weights = weights;
        this.height = height;
        this.width = width;
    }

    @Override
    public void forward(MemorySegment x, int batch, List<String> outputs, float[][] dst) {
        boolean features = outputs.stream().anyMatch(o -> !o.equals("logits"));
        MambaOutGraph g = graphs.computeIfAbsent(batch * 2L + (features ? 1 : 0), k -> MambaOutGraph.build(config, batch,
                height, width, MambaOutGraph.Mode.INFERENCE, MambaOutGraph.Options.DEFAULT.withFeatures(features)));
        Bindings b = new Bindings().put(g.input(), x.toArray(ValueLayout.JAVA_FLOAT));
        weights.forEach(b::put);
        Results r = cpu.run(g.graph(), b);
        for (int i = 0; i < outputs.size(); i++) {
            float[] v = r.floats(g.output(outputs.get(i)));
            System.arraycopy(v, 0, dst[i], 0, v.length);
        }
    }

    @Override
    public String describe() {
        return "CPU executor, f32 storage with double accumulation, " + Runtime.getRuntime().availableProcessors() + " threads";
    }

    @Override
    public boolean onGpu() { return false; }

    @Override
    public void close() { graphs.clear(); }
}
