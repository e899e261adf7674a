package dev.mambaout.model.infer;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.kernels.Kernels;
import dev.mambaout.model.Fixtures;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.TensorSource;
import dev.mambaout.model.cli.RandomInit;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.DeviceOutOfMemoryException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The whole model on the GPU: against timm's fixtures (f32 1e-4, TF32 5e-3, bf16 3e-2 relative on the logits and
 * every feature, top-1 equal), against the CPU executor on random structures the fixtures do not cover, from many
 * threads at once, and under bad input. Skipped with the reason where there is no GPU or no built kernels.
 */
@Tag("gpu")
class GpuInferenceGpuTest {

    private static void requireGpu(Backend backend) {
        Cuda.Availability a = Cuda.availability(backend);
        assumeTrue(a.available(), a.reason());
        assumeTrue(Kernels.buildInfo().built(), "kernels: " + Kernels.buildInfo().reason());
    }

    static double relError(float[] out, double[] ref) { return Fixtures.relError(out, ref); }

    static double tolerance(dev.mambaout.runtime.exec.Precision p) {
        return switch (p) {
            case F32 -> 1e-4;
            case TF32 -> 5e-3;
            case BF16 -> 3e-2;
        };
    }

    static Stream<Arguments> fixtureCases() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values()) {
            for (dev.mambaout.runtime.exec.Precision p : dev.mambaout.runtime.exec.Precision.values()) {
                for (String tag : List.of("mini", "mini_rw", "femto")) out.add(Arguments.of(b, p, tag));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{2} {1} {0}")
    @MethodSource("fixtureCases")
    void matchesTheTimmFixtures(Backend backend, dev.mambaout.runtime.exec.Precision precision, String tag) throws Exception {
        requireGpu(backend);
        MambaOutConfig c = Fixtures.config(tag);
        Path weights = Fixtures.weights(tag), reference = Fixtures.reference(tag);
        try (TensorSource ref = TensorSource.open(reference)) {
            List<Long> in = ref.info("input").shape();
            int n = in.get(0).intValue(), h = in.get(2).intValue(), w = in.get(3).intValue();
            InferenceOptions o = new InferenceOptions(DeviceChoice.GPU, precision, n, h, w, backend, 0);
            try (MambaOutModel m = MambaOutModel.load(c, weights, o)) {
                assertTrue(m.onGpu());
                Map<String, float[]> f = m.features(ref.readFloats("input"), n);
                double[] refLogits = ref.readDoubles("logits");
                List<String> bad = new ArrayList<>();
                double worst = 0;
                for (Map.Entry<String, float[]> e : f.entrySet()) {
                    String key = e.getKey().equals("logits") ? "logits" : "features." + e.getKey();
                    double err = relError(e.getValue(), ref.readDoubles(key));
                    worst = Math.max(worst, err);
                    if (!(err <= tolerance(precision))) bad.add(key + " " + err);
                }
                float[] logits = m.predict(ref.readFloats("input"), n);
                double predictErr = relError(logits, refLogits);
                if (!(predictErr <= tolerance(precision))) bad.add("predict logits " + predictErr);
                for (int i = 0; i < n; i++) {
                    assertEquals(argmax(refLogits, i * c.numClasses(), c.numClasses()),
                            m.topK(logits, 1).get(i).get(0).index(), "top-1 of image " + i);
                }
                System.out.printf("gpu parity %s %s %s: worst %.3g (tol %.0e)%n", tag, precision, backend, worst, tolerance(precision));
                assertTrue(bad.isEmpty(), tag + " " + precision + " " + backend + ": outside tolerance: " + bad);
            }
        }
    }

    private static int argmax(double[] v, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[off + i] > v[off + best]) best = i;
        return best;
    }

    /** Structures beyond the fixtures: odd widths and sizes, conv_ratio != 1, 1 input channel, k 3 and 5, an empty stage. */
    static Stream<Arguments> randomStructures() {
        List<MambaOutConfig> configs = List.of(
                new MambaOutConfig("odd", 1, 7, List.of(1, 2), List.of(10, 22), 2.5, 0.6, 5, true,
                        MambaOutConfig.Downsample.CONV, false, MambaOutConfig.Activation.GELU, MambaOutConfig.Head.MLP, 37, 1.0),
                new MambaOutConfig("rw3", 3, 5, List.of(2, 0, 1), List.of(12, 20, 36), 3.0, 1.25, 3, false,
                        MambaOutConfig.Downsample.CONV_NORM_FIRST, true, MambaOutConfig.Activation.SILU,
                        MambaOutConfig.Head.NORM_MLP, 29, 1.0),
                new MambaOutConfig("k1", 2, 3, List.of(1), List.of(9), 8.0 / 3.0, 1.0, 1, true,
                        MambaOutConfig.Downsample.CONV, false, MambaOutConfig.Activation.GELU, MambaOutConfig.Head.MLP, 16, 1.0));
        List<Arguments> out = new ArrayList<>();
        // bf16 too: the fixtures cover only three structures, and a bf16-only failure (a NaN) must show on the others.
        var precisions = List.of(dev.mambaout.runtime.exec.Precision.F32, dev.mambaout.runtime.exec.Precision.BF16);
        for (Backend b : Backend.values()) {
            for (MambaOutConfig c : configs) for (var p : precisions) out.add(Arguments.of(b, c, p));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{1} {2} {0}")
    @MethodSource("randomStructures")
    void matchesTheCpuExecutorOnRandomStructures(Backend backend, MambaOutConfig c, dev.mambaout.runtime.exec.Precision precision) {
        requireGpu(backend);
        Random r = new Random(c.name().hashCode());
        int batch = 3, h = c.imageSize(), w = c.imageSize() - 6;
        Map<String, float[]> weights = RandomInit.draw(ParameterSpec.of(c), r.nextLong());
        // timm's init has zero biases and unit norms; perturb them so a dropped bias or norm weight shows.
        weights.replaceAll((k, v) -> {
            float[] p = v.clone();
            if (k.endsWith("bias")) for (int i = 0; i < p.length; i++) p[i] = 0.1f * (float) r.nextGaussian();
            else if (k.contains("norm") || k.endsWith("gamma")) for (int i = 0; i < p.length; i++) p[i] = 1f + 0.2f * (float) r.nextGaussian();
            else for (int i = 0; i < p.length; i++) p[i] *= 20f;   // trunc-normal 0.02 -> ~0.4: activations stay O(1)
            return p;
        });
        float[] x = new float[batch * c.inChans() * h * w];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        MambaOutGraph g = MambaOutGraph.build(c, batch, h, w, MambaOutGraph.Mode.INFERENCE, MambaOutGraph.Options.DEFAULT.withFeatures(true));
        Bindings b = new Bindings().put(g.input(), x);
        weights.forEach(b::put);
        var ref = new CpuExecutor(Precision.F64).run(g.graph(), b);
        InferenceOptions o = new InferenceOptions(DeviceChoice.GPU, precision, batch, h, w, backend, 0);
        try (MambaOutModel m = MambaOutModel.open(c, weights, o)) {
            Map<String, float[]> f = m.features(x, batch);
            for (Map.Entry<String, float[]> e : f.entrySet()) {
                double err = relError(e.getValue(), ref.doubles(g.output(e.getKey())));
                // relError is infinite when the output holds a NaN, so a NaN fails here.
                assertTrue(err <= tolerance(precision), c.name() + " " + precision + " " + e.getKey() + ": " + err);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void sixteenThreadsAtOnceEachGetTheirOwnAnswer(Backend backend) throws Exception {
        requireGpu(backend);
        MambaOutConfig c = Fixtures.MINI;
        InferenceOptions o = new InferenceOptions(DeviceChoice.GPU, dev.mambaout.runtime.exec.Precision.F32, 2, 64, 64, backend, 0);
        try (MambaOutModel m = MambaOutModel.open(c, RandomInit.draw(ParameterSpec.of(c), 7), o)) {
            int threads = 16;
            float[][] inputs = new float[threads][];
            float[][] expected = new float[threads][];
            Random r = new Random(11);
            for (int t = 0; t < threads; t++) {
                inputs[t] = new float[2 * 3 * 64 * 64];
                for (int i = 0; i < inputs[t].length; i++) inputs[t][i] = (float) r.nextGaussian();
                expected[t] = m.predict(inputs[t], 2);
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<Double>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    Callable<Double> job = () -> {
                        double worst = 0;
                        for (int rep = 0; rep < 25; rep++) {
                            float[] got = m.predict(inputs[id], 2);
                            double[] ref = new double[got.length];
                            for (int i = 0; i < ref.length; i++) ref[i] = expected[id][i];
                            worst = Math.max(worst, relError(got, ref));
                        }
                        return worst;
                    };
                    results.add(pool.submit(job));
                }
                for (int t = 0; t < threads; t++) assertTrue(results.get(t).get() <= 1e-6, "thread " + t + ": " + results.get(t).get());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void tenThousandPredictionsLeaveDeviceMemoryFlat() {
        requireGpu(Backend.PANAMA);
        MambaOutConfig c = Fixtures.MINI;
        InferenceOptions o = new InferenceOptions(DeviceChoice.GPU, dev.mambaout.runtime.exec.Precision.BF16, 1, 64, 64, Backend.PANAMA, 0);
        try (dev.mambaout.runtime.Device device = dev.mambaout.runtime.Device.open(Cuda.open(Backend.PANAMA), 0);
             MambaOutModel m = MambaOutModel.open(c, RandomInit.draw(ParameterSpec.of(c), 3), o)) {
            float[] x = new float[3 * 64 * 64];
            for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i);
            m.predict(x, 1);
            long before = device.memInfo().free();
            for (int i = 0; i < 10_000; i++) m.predict(x, 1);
            long after = device.memInfo().free();
            assertEquals(before, after, "free device memory before and after 10,000 predictions");
        }
    }

    @Test
    void outOfDeviceMemoryIsReportedAndTheEngineStaysUsable() {
        requireGpu(Backend.PANAMA);
        MambaOutConfig c = Fixtures.FEMTO;
        Map<String, float[]> w = RandomInit.draw(ParameterSpec.of(c), 1);
        InferenceOptions o = new InferenceOptions(DeviceChoice.GPU, dev.mambaout.runtime.exec.Precision.F32, 2, 224, 224, Backend.PANAMA, 0);
        try (dev.mambaout.runtime.Device device = dev.mambaout.runtime.Device.open(Cuda.open(Backend.PANAMA), 0)) {
            long free = device.memInfo().free();
            // Another tenant holds all but 16 MiB: the model's weights and arena cannot fit.
            try (var hog = device.newArena(free - (16L << 20))) {
                DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> MambaOutModel.open(c, w, o));
                assertTrue(e.getMessage().contains("free"), e.getMessage());
            }
            assertEquals(free, device.memInfo().free(), "the failed open left nothing allocated");
            try (MambaOutModel m = MambaOutModel.open(c, w, o)) {
                float[] logits = m.predict(new float[2 * 3 * 224 * 224], 2);
                for (float v : logits) assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void batchesPastTheKernelsIndexRangeAreRefusedWithAHint() {
        requireGpu(Backend.PANAMA);
        MambaOutConfig c = Fixtures.FEMTO;
        InferenceOptions huge = new InferenceOptions(DeviceChoice.GPU, dev.mambaout.runtime.exec.Precision.BF16, 1 << 14, 224, 224, Backend.PANAMA, 0);
        var e = assertThrows(IllegalArgumentException.class, () -> MambaOutModel.open(c, RandomInit.draw(ParameterSpec.of(c), 1), huge));
        assertTrue(e.getMessage().contains("split the batch"), e.getMessage());
    }

    @Test
    void badInputIsRefusedByName() {
        requireGpu(Backend.PANAMA);
        MambaOutConfig c = Fixtures.MINI;
        InferenceOptions o = new InferenceOptions(DeviceChoice.GPU, dev.mambaout.runtime.exec.Precision.F32, 2, 64, 64, Backend.PANAMA, 0);
        MambaOutModel m = MambaOutModel.open(c, RandomInit.draw(ParameterSpec.of(c), 3), o);
        var len = assertThrows(IllegalArgumentException.class, () -> m.predict(new float[5], 1));
        assertTrue(len.getMessage().contains("[1, 3, 64, 64]"), len.getMessage());
        var big = assertThrows(IllegalArgumentException.class, () -> m.predict(new float[3 * 3 * 64 * 64], 3));
        assertTrue(big.getMessage().contains("maxBatch"), big.getMessage());
        m.close();
        var closed = assertThrows(IllegalStateException.class, () -> m.predict(new float[3 * 64 * 64], 1));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }
}
