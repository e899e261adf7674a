package dev.mambaout.model.infer;

import dev.mambaout.graph.Graph;
import dev.mambaout.kernels.Kernels;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.exec.GpuProgram;
import dev.mambaout.runtime.exec.GpuWeights;
import dev.mambaout.runtime.exec.Roofline;
import dev.mambaout.runtime.exec.WeightSource;
import dev.mambaout.runtime.Event;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The GPU runtime behind the inference API: weights uploaded once, one program (arena, prepared launches, CUDA
 * graph) per batch size and output set, built on first use and kept until close.
 */
final class GpuForward implements Executor {

    private final MambaOutConfig config;
    private final InferenceOptions options;
    private final Device device;
    private final GpuWeights weights;
    private final Map<Long, Program> programs = new HashMap<>();

    private record Program(MambaOutGraph graph, GpuProgram gpu) {}

    private GpuForward(MambaOutConfig config, InferenceOptions options, Device device, GpuWeights weights) {
        this.config = config;
        this.options = options;
        this.device = device;
        this.weights = weights;
    }

    /** Opens the GPU or throws {@link CudaUnavailableException} saying what is missing. */
    static GpuForward open(MambaOutConfig config, WeightSource values, InferenceOptions options) {
        Cuda.Availability a = Cuda.availability(options.backend());
        if (!a.available()) throw new CudaUnavailableException("no usable GPU (" + options.backend() + " backend): " + a.reason());
        Kernels.BuildInfo k = Kernels.buildInfo();
        if (!k.built()) throw new CudaUnavailableException("the CUDA kernels are not in this build: " + k.reason());
        Device device = Device.open(Cuda.open(options.backend()), options.ordinal());
        GpuWeights w = null;
        try {
            // Weights for both programs a model builds (logits; logits and features), uploaded once.
            List<Graph> graphs = new ArrayList<>();
            for (boolean features : new boolean[] {false, true}) {
                graphs.add(MambaOutGraph.build(config, options.maxBatch(), options.height(), options.width(),
                        MambaOutGraph.Mode.INFERENCE, MambaOutGraph.Options.DEFAULT.withFeatures(features)).graph());
            }
            w = GpuProgram.uploadWeights(device, graphs, options.precision(), values);
            GpuForward f = new GpuForward(config, options, device, w);
            f.program(options.maxBatch(), false);
            return f;
        } catch (RuntimeException | Error e) {
            if (w != null) w.close();
            device.close();
            throw e;
        }
    }

    private Program program(int batch, boolean features) {
        long key = batch * 2L + (features ? 1 : 0);
        Program p = programs.get(key);
        if (p == null) {
            MambaOutGraph g = MambaOutGraph.build(config, batch, options.height(), options.width(),
                    MambaOutGraph.Mode.INFERENCE, MambaOutGraph.Options.DEFAULT.withFeatures(features));
            p = new Program(g, GpuProgram.build(device, g.graph(), options.precision(), weights));
            programs.put(key, p);
        }
        return p;
    }

    @Override
    public void forward(MemorySegment x, int batch, List<String> outputs, float[][] dst) {
        device.makeCurrent();
        Program p = program(batch, outputs.stream().anyMatch(o -> !o.equals("logits")));
        p.gpu().setInput(MambaOutGraph.INPUT, x);
        p.gpu().run();
        for (int i = 0; i < outputs.size(); i++) p.gpu().readOutput(p.graph().output(outputs.get(i)).name(), dst[i], 0);
    }

    MambaOutModel.Profile profile(int batch, int reps) {
        device.makeCurrent();
        GpuProgram p = program(batch, false).gpu();
        Roofline roof = Roofline.measure(device, options.precision());
        List<GpuProgram.StepTime> steps = p.profile(reps);
        float[] ms = new float[reps];
        try (Event a = device.newEvent(); Event b = device.newEvent()) {
            p.run();
            p.run();
            for (int r = 0; r < reps; r++) {
                a.record(p.stream());
                p.run();
                b.record(p.stream());
                b.synchronize();
                ms[r] = a.elapsedMsTo(b);
            }
        }
        java.util.Arrays.sort(ms);
        return new MambaOutModel.Profile(describe(), roof, steps, ms[reps / 2]);
    }

    @Override
    public String describe() {
        return device.info().name() + ", " + options.precision().name().toLowerCase(Locale.ROOT) + ", "
                + options.backend().name().toLowerCase(Locale.ROOT) + " driver binding";
    }

    @Override
    public boolean onGpu() { return true; }

    @Override
    public void close() {
        device.makeCurrent();
        RuntimeException first = null;
        for (Program p : programs.values()) {
            try {
                p.gpu().close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        programs.clear();
        try {
            weights.close();
        } finally {
            device.close();
        }
        if (first != null) throw first;
    }
}
