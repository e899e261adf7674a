package dev.mambaout.bench;

import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.model.cli.RandomInit;
import dev.mambaout.model.train.AdamW;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.nccl.Nccl;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.Event;
import dev.mambaout.runtime.dist.NcclCommunicator;
import dev.mambaout.runtime.exec.GpuTrainProgram;
import dev.mambaout.runtime.exec.Precision;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Our side of the data-parallel scaling comparison ({@code scripts/gpu-scaling}; bench/README.md): for each model and
 * GPU count, the whole optimiser step of {@link TrainTimer} (one CUDA graph replay on a fixed random batch already on
 * each device) on every rank at a fixed per-GPU batch, the gradients averaged through NCCL inside the graph. One
 * thread per GPU runs its own steps (the collectives keep the ranks in step); CUDA events around rank 0's steps after
 * the warm-up. One JSON row per (model, GPU count) on stdout, {@code "scaling"} against the 1-GPU row of the same run.
 * <p>
 * Usage: {@code ScalingTimer --models femto,tiny --gpus 1,2,4,8 --per-gpu-batch 128 --img-size 224 [--precision bf16]
 * [--backend panama] [--warmup 10] [--reps 30]}; counts above the machine's GPUs are skipped with a line on stderr.
 * NCCL reads {@code NCCL_NVLS_ENABLE} (set it to 0 where NVLink multicast must stay off).
 */
public final class ScalingTimer {

    public static void main(String[] args) throws Exception {
        Map<String, String> o = TrainTimer.options("ScalingTimer", Map.of("--models", "femto", "--gpus", "1,2,4,8",
                "--per-gpu-batch", "128", "--img-size", "224", "--backend", "panama", "--precision", "bf16", "--warmup", "10",
                "--reps", "30"), args);
        int batch = Integer.parseInt(o.get("--per-gpu-batch")), size = Integer.parseInt(o.get("--img-size"));
        int warmup = Integer.parseInt(o.get("--warmup")), reps = Integer.parseInt(o.get("--reps"));
        if (reps < 10) throw new IllegalArgumentException("ScalingTimer: --reps must be >= 10 for the p10/p90, got " + reps);
        Precision precision = Precision.parse(o.get("--precision"));
        CudaDriver.Backend backend = Cuda.parseBackend(o.get("--backend"), "--backend");
        int available = Cuda.open(backend).deviceCount();
        System.err.println("ScalingTimer: " + available + " GPU(s), NCCL " + Nccl.version() + " from " + Nccl.libraryPath()
                + ", NCCL_NVLS_ENABLE=" + System.getenv("NCCL_NVLS_ENABLE"));
        int failed = 0;
        for (String model : o.get("--models").split(",")) {
            double one = 0;
            for (String g : o.get("--gpus").split(",")) {
                int n = Integer.parseInt(g.trim());
                if (n > available) {
                    System.err.println("ScalingTimer: " + model + " on " + n + " GPUs skipped: this machine has " + available);
                    continue;
                }
                try {
                    double[] ms = time(model.trim(), n, batch, size, precision, backend, warmup, reps);
                    double median = ms[reps / 2], ips = (double) n * batch / (median / 1e3);
                    if (n == 1) one = ips;
                    System.out.printf(Locale.ROOT, "{\"model\": \"%s\", \"engine\": \"ours\", \"backend\": \"%s\", \"precision\": \"%s\", "
                                    + "\"gpus\": %d, \"per_gpu_batch\": %d, \"img_size\": %d, \"img_per_s\": %.1f, \"ms\": %.4f, "
                                    + "\"p10_ms\": %.4f, \"p90_ms\": %.4f, \"scaling\": %s, \"warmup\": %d, \"reps\": %d}%n",
                            MambaOutConfig.variant(model.trim()).name(), backend.name().toLowerCase(Locale.ROOT),
                            precision.name().toLowerCase(Locale.ROOT), n, batch, size, ips, median, ms[reps / 10],
                            ms[reps * 9 / 10], one > 0 ? String.format(Locale.ROOT, "%.3f", ips / one) : "null", warmup, reps);
                } catch (RuntimeException e) {
                    System.err.println("ScalingTimer: " + model + " on " + n + " GPUs: " + e);
                    failed++;
                }
            }
        }
        if (failed > 0) System.exit(1);
    }

    /** Rank 0's sorted step times (ms) of {@code reps} steps after {@code warmup}, on GPUs 0..n-1. */
    private static double[] time(String model, int n, int batch, int size, Precision precision, CudaDriver.Backend backend,
                                 int warmup, int reps) throws Exception {
        MambaOutConfig config = MambaOutConfig.variant(model);
        MambaOutGraph g = MambaOutGraph.build(config, batch, size, size, MambaOutGraph.Mode.TRAINING,
                MambaOutGraph.Options.DEFAULT.withLabelSmoothing(0.1));
        int[] ordinals = new int[n];
        for (int i = 0; i < n; i++) ordinals[i] = i;
        List<NcclCommunicator> comms = NcclCommunicator.initAll(ordinals);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<double[]>> ranks = new ArrayList<>();
            for (int rank = 0; rank < n; rank++) {
                int r = rank;
                ranks.add(pool.submit(() -> run(g, config, r, comms.get(r), precision, backend, warmup, reps)));
            }
            double[] out = null;
            for (Future<double[]> f : ranks) {
                double[] t = f.get();
                if (t != null) out = t;
            }
            return out;
        } finally {
            pool.shutdown();
            for (NcclCommunicator c : comms) c.close();
        }
    }

    private static double[] run(MambaOutGraph g, MambaOutConfig config, int rank, NcclCommunicator comm, Precision precision,
                                CudaDriver.Backend backend, int warmup, int reps) {
        try (Device device = Device.open(Cuda.open(backend), rank);
             GpuTrainProgram p = GpuTrainProgram.build(device, g.trainingGraph(), g.logits(), precision,
                     t -> AdamW.decays(t.name(), t.shape().dims().length), comm);
             Event start = device.newEvent(); Event end = device.newEvent()) {
            p.setState(RandomInit.draw(g.spec(), 0), null, null);
            p.broadcastState();
            // Each rank its own batch (data parallel); the same shapes on all.
            Random r = new Random(1 + rank);
            float[] x = new float[Math.toIntExact(g.input().numel())];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            int[] y = new int[g.input().shape().dim(0)];
            for (int i = 0; i < y.length; i++) y[i] = r.nextInt(config.numClasses());
            p.setBatch(MemorySegment.ofArray(x), MemorySegment.ofArray(y));
            AdamWKernels.Hyper h = new AdamWKernels.Hyper(2e-3, 0.9, 0.999, 1e-8, 0.05, 1, 0);
            long step = 0;
            for (int i = 0; i < warmup; i++) p.step(h.at(++step, h.lr()));
            p.program().synchronize();
            double[] ms = new double[reps];
            for (int i = 0; i < reps; i++) {
                start.record(p.program().stream());
                p.step(h.at(++step, h.lr()));
                end.record(p.program().stream());
                end.synchronize();
                ms[i] = start.elapsedMsTo(end);
            }
            double loss = p.loss();
            if (!Double.isFinite(loss)) throw new IllegalStateException("rank " + rank + ": the loss is " + loss);
            if (rank != 0) return null;
            Arrays.sort(ms);
            return ms;
        }
    }
}
