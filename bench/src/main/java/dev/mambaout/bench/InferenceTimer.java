package dev.mambaout.bench;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.TensorSource;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.Event;
import dev.mambaout.runtime.exec.GpuProgram;
import dev.mambaout.runtime.exec.GpuWeights;
import dev.mambaout.runtime.exec.Precision;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * Our side of the PyTorch comparison ({@code bench/python/inference_compare.py} drives both in one device call):
 * loads the weights and input that the Python side saved for one model, builds the GPU program for each requested
 * (precision, batch), checks its logits against the ones PyTorch computed on the same input, and times graph replays
 * with CUDA events (warm-up, then the median of many). Prints one JSON row per case, in the results file's schema.
 * <p>
 * Usage: {@code InferenceTimer MODEL WEIGHTS BENCH BACKEND PRECISION:BATCH...}: WEIGHTS is the timm state dict the
 * Python side saved, BENCH holds {@code bench.input} [B, 3, 224, 224] and {@code bench.logits.<precision>.<batch>}
 * (PyTorch's logits of the first {@code batch} images).
 */
public final class InferenceTimer {

    private static final int WARMUP = 20;
    private static final int REPS = 100;

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            throw new IllegalArgumentException("usage: InferenceTimer MODEL WEIGHTS BENCH panama|jcuda PRECISION:BATCH...");
        }
        MambaOutConfig config = MambaOutConfig.variant(args[0]);
        Map<String, float[]> weights = Checkpoints.loadFloats(Path.of(args[1]), ParameterSpec.of(config), Checkpoints.Mode.STRICT).values();
        Path file = Path.of(args[2]);
        CudaDriver.Backend backend = Cuda.parseBackend(args[3], "argument 4");
        float[] input;
        try (TensorSource src = TensorSource.open(file)) {
            input = src.readFloats("bench.input");
        }
        try (Device device = Device.open(Cuda.open(backend), 0)) {
            for (int a = 4; a < args.length; a++) {
                String[] pb = args[a].split(":");
                Precision precision = Precision.parse(pb[0]);
                int batch = Integer.parseInt(pb[1]);
                MambaOutGraph g = MambaOutGraph.inference(config, batch, 224, 224);
                try (GpuWeights w = GpuProgram.uploadWeights(device, g.graph(), precision, weights::get);
                     GpuProgram p = GpuProgram.build(device, g.graph(), precision, w);
                     Event start = device.newEvent(); Event end = device.newEvent();
                     Arena arena = Arena.ofConfined()) {
                    int per = 3 * 224 * 224;
                    MemorySegment x = arena.allocate(ValueLayout.JAVA_FLOAT, (long) batch * per);
                    MemorySegment.copy(input, 0, x, ValueLayout.JAVA_FLOAT, 0, batch * per);
                    p.setInput(MambaOutGraph.INPUT, x);
                    p.run();
                    float[] logits = new float[batch * config.numClasses()];
                    p.readOutput(g.logits().name(), logits, 0);
                    double err = Double.NaN;
                    String refKey = "bench.logits." + precision.name().toLowerCase(Locale.ROOT) + "." + batch;
                    try (TensorSource src = TensorSource.open(file)) {
                        if (src.contains(refKey)) err = relError(logits, src.readFloats(refKey));
                    }
                    for (int i = 0; i < WARMUP; i++) p.run();
                    p.synchronize();
                    float[] ms = new float[REPS];
                    for (int i = 0; i < REPS; i++) {
                        start.record(p.stream());
                        p.run();
                        end.record(p.stream());
                        end.synchronize();
                        ms[i] = start.elapsedMsTo(end);
                    }
                    Arrays.sort(ms);
                    double median = ms[REPS / 2];
                    double peakMib = (w.bytes() + p.arenaBytes()) / (1024.0 * 1024.0);
                    System.out.printf(Locale.ROOT, "{\"model\": \"%s\", \"engine\": \"ours\", \"backend\": \"%s\", \"precision\": \"%s\", "
                                    + "\"batch\": %d, \"img_per_s\": %.1f, \"ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, "
                                    + "\"peak_mib\": %.1f, \"steps\": %d, \"logits_rel_err_vs_torch\": %s}%n",
                            config.name(), backend.name().toLowerCase(Locale.ROOT), precision.name().toLowerCase(Locale.ROOT),
                            batch, batch / (median / 1e3), median, ms[REPS / 10], ms[REPS * 9 / 10], peakMib, p.stepCount(),
                            Double.isNaN(err) ? "null" : String.format(Locale.ROOT, "%.3g", err));
                }
            }
        }
    }

    private static double relError(float[] out, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = out[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }
}
