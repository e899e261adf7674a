package dev.mambaout.bench;

import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.model.cli.RandomInit;
import dev.mambaout.model.train.AdamW;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.Event;
import dev.mambaout.runtime.exec.GpuProgram;
import dev.mambaout.runtime.exec.GpuTrainProgram;
import dev.mambaout.runtime.exec.Precision;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Our side of the training comparison ({@code scripts/gpu-train-compare}; bench/README.md, "Training comparison"):
 * for each model, one whole optimiser step (forward, cross-entropy with label smoothing 0.1, backward, AdamW with
 * lr 2e-3 and weight decay 0.05, no clipping) as one CUDA graph replay on a fixed random batch already on the device;
 * CUDA events around each step after the warm-up steps; one JSON row per model on stdout, the rest on stderr.
 * <p>
 * Usage: {@code TrainTimer --models femto,tiny --batch 128 --img-size 224 --in-chans 3 --num-classes 1000
 * --backend panama [--precision bf16] [--warmup 10] [--reps 30] [--profile N]}: {@code --profile N} prints the N
 * slowest lowered steps (each run alone between events) to stderr after the timing.
 */
public final class TrainTimer {

    public static void main(String[] args) {
        Map<String, String> o = options("TrainTimer", Map.of("--models", "femto", "--batch", "128", "--img-size", "224",
                "--in-chans", "3", "--num-classes", "1000", "--backend", "panama", "--precision", "bf16", "--warmup", "10",
                "--reps", "30", "--profile", "0"), args);
        int batch = Integer.parseInt(o.get("--batch")), size = Integer.parseInt(o.get("--img-size"));
        int inChans = Integer.parseInt(o.get("--in-chans")), classes = Integer.parseInt(o.get("--num-classes"));
        int warmup = Integer.parseInt(o.get("--warmup")), reps = Integer.parseInt(o.get("--reps"));
        int profile = Integer.parseInt(o.get("--profile"));
        if (reps < 10) throw new IllegalArgumentException("TrainTimer: --reps must be >= 10 for the p10/p90, got " + reps);
        Precision precision = Precision.parse(o.get("--precision"));
        CudaDriver.Backend backend = Cuda.parseBackend(o.get("--backend"), "--backend");
        int failed = 0;
        try (Device device = Device.open(Cuda.open(backend), 0)) {
            for (String model : o.get("--models").split(",")) {
                try {
                    time(device, model.trim(), batch, size, inChans, classes, precision, backend, warmup, reps, profile);
                } catch (RuntimeException e) {
                    System.err.println("TrainTimer: " + model + ": " + e);
                    failed++;
                }
            }
        }
        if (failed > 0) System.exit(1);
    }

    /** {@code --name value} pairs over {@code defaults}; an unknown name or a missing value is refused naming the tool. */
    static Map<String, String> options(String tool, Map<String, String> defaults, String[] args) {
        Map<String, String> o = new LinkedHashMap<>(defaults);
        for (int i = 0; i < args.length; i += 2) {
            if (!o.containsKey(args[i]) || i + 1 >= args.length) {
                throw new IllegalArgumentException(tool + ": unknown option or missing value at '" + args[i] + "'; options " + o.keySet());
            }
            o.put(args[i], args[i + 1]);
        }
        return o;
    }

    private static void time(Device device, String model, int batch, int size, int inChans, int classes, Precision precision,
                             CudaDriver.Backend backend, int warmup, int reps, int profile) {
        MambaOutConfig config = MambaOutConfig.variant(model).withInChans(inChans).withNumClasses(classes);
        MambaOutGraph g = MambaOutGraph.build(config, batch, size, size, MambaOutGraph.Mode.TRAINING,
                MambaOutGraph.Options.DEFAULT.withLabelSmoothing(0.1));
        long t0 = System.nanoTime();
        try (GpuTrainProgram p = GpuTrainProgram.build(device, g.trainingGraph(), g.logits(), precision,
                t -> AdamW.decays(t.name(), t.shape().dims().length));
             Event start = device.newEvent(); Event end = device.newEvent()) {
            p.setState(RandomInit.draw(g.spec(), 0), null, null);
            Random r = new Random(1);
            float[] x = new float[Math.toIntExact(g.input().numel())];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            int[] y = new int[batch];
            for (int i = 0; i < batch; i++) y[i] = r.nextInt(classes);
            p.setBatch(MemorySegment.ofArray(x), MemorySegment.ofArray(y));
            AdamWKernels.Hyper h = new AdamWKernels.Hyper(2e-3, 0.9, 0.999, 1e-8, 0.05, 1, 0);
            long step = 0;
            for (int i = 0; i < warmup; i++) p.step(h.at(++step, h.lr()));
            double firstLoss = p.loss();
            System.err.printf(Locale.ROOT, "TrainTimer %s: %d steps lowered, set-up and warm-up %.1f s, loss after warm-up %.4f%n",
                    model, p.stepCount(), (System.nanoTime() - t0) / 1e9, firstLoss);
            float[] ms = new float[reps];
            for (int i = 0; i < reps; i++) {
                AdamWKernels.Hyper hi = h.at(++step, h.lr());
                start.record(p.program().stream());
                p.step(hi);
                end.record(p.program().stream());
                end.synchronize();
                ms[i] = start.elapsedMsTo(end);
            }
            double loss = p.loss();
            if (!Double.isFinite(loss)) throw new IllegalStateException("the loss is " + loss + " after " + step + " steps");
            Arrays.sort(ms);
            double median = ms[reps / 2];
            System.out.printf(Locale.ROOT, "{\"model\": \"%s\", \"engine\": \"ours\", \"backend\": \"%s\", \"precision\": \"%s\", "
                            + "\"mode\": \"train\", \"batch\": %d, \"img_size\": %d, \"in_chans\": %d, \"num_classes\": %d, "
                            + "\"img_per_s\": %.1f, \"ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, \"peak_mib\": %.1f, "
                            + "\"peak_how\": \"flat state (f32 master, gradients, both moments, bf16 copy, AdamW workspace) plus the "
                            + "step's planned activation arena and GEMM workspace; the CUDA context and library handles not counted\", "
                            + "\"warmup\": %d, \"reps\": %d, \"steps\": %d, \"loss_last\": %.5f}%n",
                    config.name(), backend.name().toLowerCase(Locale.ROOT), precision.name().toLowerCase(Locale.ROOT), batch, size,
                    inChans, classes, batch / (median / 1e3), median, ms[reps / 10], ms[reps * 9 / 10],
                    p.deviceBytes() / (1024.0 * 1024.0), warmup, reps, p.stepCount(), loss);
            if (profile > 0) {
                // The slowest steps, each run alone between events: where a step's time goes.
                List<GpuProgram.StepTime> steps = new ArrayList<>(p.profile(5));
                double total = steps.stream().mapToDouble(GpuProgram.StepTime::medianMs).sum();
                steps.sort(Comparator.comparingDouble(GpuProgram.StepTime::medianMs).reversed());
                System.err.printf(Locale.ROOT, "TrainTimer %s profile: %d steps, %.3f ms run one by one; slowest %d:%n", model,
                        steps.size(), total, profile);
                for (GpuProgram.StepTime st : steps.subList(0, Math.min(profile, steps.size()))) {
                    System.err.printf(Locale.ROOT, "  %8.3f ms %5.1f%%  %-40s %s%n", st.medianMs(), 100 * st.medianMs() / total,
                            st.kernel(), st.name());
                }
            }
        }
    }
}
