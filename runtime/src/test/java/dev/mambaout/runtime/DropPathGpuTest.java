package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.DropPathRng;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.AdamWLaunch;
import dev.mambaout.runtime.launch.DropPathLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * droppath_residual_forward_{f32,bf16} and droppath_backward_{f32,bf16} through {@link DropPathLaunch}.
 * <ul>
 *   <li>The masks against {@link DropPathRng} bit for bit: x = 1, shortcut = 0, no gamma, so out is each sample's
 *       scale; 4099 samples at rates whose thresholds reach the low bits of the 53, seeds with the sign bit set, steps
 *       up to 2^40 written into the hyperparameter buffer the way a training step writes them.</li>
 *   <li>Forward (with and without gamma, into a separate out and in place) and backward against a double reference
 *       built from {@link DropPathRng}'s scales, on odd sizes; outputs poisoned with NaN first; ||out - ref|| / ||ref||
 *       below 1e-5 (f32) or 1e-2 (bf16 x or dx).</li>
 * </ul>
 */
@Tag("gpu")
class DropPathGpuTest {

    private static final double TOL_F32 = 1e-5, TOL_BF16 = 1e-2;

    // samples, H*W, C, rate, block
    private static final Object[][] CASES = {
            {1, 1, 1, 0.5, 0}, {3, 7, 5, 0.5, 1}, {7, 49, 48, 0.1, 3}, {5, 13, 197, 0.3, 17}, {16, 196, 96, 0.5, 2},
            {9, 1, 1000, 0.9, 35}, {2, 3136, 48, 0.5, 0}, {33, 11, 3, 0.25, 6},
    };

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> cases() {
        return GpuSupport.onBothBackendsAndTypes(CASES);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Backend.class)
    void masksEqualTheJavaGeneratorBitForBit(Backend backend) {
        int n = 4099;
        double[] rates = {0.5, 0.1, 0.37, 1e-9, 0.999};
        long[] seeds = {0, 1234567, -1, Long.MIN_VALUE + 12345, 0x9E3779B97F4A7C15L};
        long[] steps = {1, 2, 977, 1L << 40};
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(12L * n + (16L << 10));
             PinnedBuffer host = dev.newPinned(4L * n); PinnedBuffer hyperHost = dev.newPinned(AdamWKernels.HYPER_BYTES)) {
            Shape shape = Shape.of(n, 1);
            Tensor x = arena.allocate(DType.F32, shape), shortcut = arena.allocate(DType.F32, shape);
            Tensor out = arena.allocate(DType.F32, shape);
            Tensor hyper = arena.allocate(DType.F64, Shape.of(AdamWKernels.HYPER_DOUBLES));
            float[] ones = new float[n];
            Arrays.fill(ones, 1f);
            GpuSupport.upload(host, x, ones, s);
            GpuSupport.upload(host, shortcut, new float[n], s);
            int checked = 0;
            for (double rate : rates) {
                for (int k = 0; k < seeds.length; k++) {
                    long seed = seeds[k], step = steps[k % steps.length];
                    int block = 3 * k + 1;
                    writeStep(hyperHost, hyper, step, s);
                    GpuSupport.poison(dev, out, s);
                    try (Launch l = DropPathLaunch.prepareForward(dev.modules(), out, shortcut, x, null, hyper, seed, block, rate)) {
                        l.launch(s);
                        float[] got = GpuSupport.download(host, out, s);
                        double[] want = DropPathRng.sampleScales(seed, step, block, n, rate);
                        for (int i = 0; i < n; i++) {
                            assertEquals(Float.floatToRawIntBits((float) want[i]), Float.floatToRawIntBits(got[i]),
                                    "sample " + i + " rate " + rate + " seed " + seed + " step " + step + " block " + block);
                        }
                        checked++;
                    }
                }
            }
            assertEquals(rates.length * seeds.length, checked);
        }
    }

    /** A data-parallel rank's samples are keyed by their global index: the offset in the hyperparameters shifts them. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Backend.class)
    void theSampleOffsetKeysMasksByTheGlobalSampleIndex(Backend backend) {
        int n = 257, offset = 3 * 257;
        long seed = 99, step = 41;
        int block = 5;
        double rate = 0.5;
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(12L * n + (16L << 10));
             PinnedBuffer host = dev.newPinned(4L * n); PinnedBuffer hyperHost = dev.newPinned(AdamWKernels.HYPER_BYTES)) {
            Shape shape = Shape.of(n, 1);
            Tensor x = arena.allocate(DType.F32, shape), shortcut = arena.allocate(DType.F32, shape);
            Tensor out = arena.allocate(DType.F32, shape);
            Tensor hyper = arena.allocate(DType.F64, Shape.of(AdamWKernels.HYPER_DOUBLES));
            float[] ones = new float[n];
            Arrays.fill(ones, 1f);
            GpuSupport.upload(host, x, ones, s);
            GpuSupport.upload(host, shortcut, new float[n], s);
            AdamWLaunch.writeHyper(hyperHost, new AdamWKernels.Hyper(1e-3, 0.9, 0.999, 1e-8, 0.05, step, 0));
            hyperHost.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, AdamWKernels.HYPER_SAMPLE_OFFSET, offset);
            hyperHost.uploadAsync(hyper, s);
            s.synchronize();
            GpuSupport.poison(dev, out, s);
            try (Launch l = DropPathLaunch.prepareForward(dev.modules(), out, shortcut, x, null, hyper, seed, block, rate)) {
                l.launch(s);
                float[] got = GpuSupport.download(host, out, s);
                double[] global = DropPathRng.sampleScales(seed, step, block, offset + n, rate);
                int differ = 0;
                double[] local = DropPathRng.sampleScales(seed, step, block, n, rate);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits((float) global[offset + i]), Float.floatToRawIntBits(got[i]),
                            "sample " + i + " of the rank starting at " + offset);
                    if (global[offset + i] != local[i]) differ++;
                }
                assertTrue(differ > n / 4, "the offset changes the masks (" + differ + " of " + n + " differ)");
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} N={2} HW={3} C={4} rate={5}")
    @MethodSource("cases")
    void forwardMatchesTheReferenceWithAndWithoutGammaAlsoInPlace(Backend backend, DType dtype, int samples, int hw, int c,
                                                                   double rate, int block) {
        Random r = new Random(samples * 1_000_003L + hw * 31L + c + System.nanoTime());
        int n = samples * hw * c;
        long seed = r.nextLong(), step = 1 + r.nextInt(100_000);
        float[] shortcut = GpuSupport.random(r, n, 0f, 1f);
        float[] x = GpuSupport.stored(GpuSupport.random(r, n, 0f, 1f), dtype);
        float[] gamma = GpuSupport.random(r, c, 0f, 0.5f);
        double[] scales = DropPathRng.sampleScales(seed, step, block, samples, rate);
        double[] refPlain = new double[n], refGamma = new double[n];
        for (int i = 0; i < n; i++) {
            double sc = scales[i / (hw * c)];
            refPlain[i] = shortcut[i] + sc * x[i];
            refGamma[i] = shortcut[i] + sc * gamma[i % c] * x[i];
        }
        String where = dtype + " N=" + samples + " HW=" + hw + " C=" + c + " rate=" + rate + " seed=" + seed + " step=" + step;
        double tol = dtype == DType.F32 ? TOL_F32 : TOL_BF16;
        Shape shape = Shape.of(samples, hw, c);
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(12L * n + 4L * c + (16L << 10));
             PinnedBuffer host = dev.newPinned(4L * n); PinnedBuffer hyperHost = dev.newPinned(AdamWKernels.HYPER_BYTES)) {
            Tensor tx = arena.allocate(dtype, shape), ts = arena.allocate(DType.F32, shape);
            Tensor tout = arena.allocate(DType.F32, shape), tg = arena.allocate(DType.F32, Shape.of(c));
            Tensor hyper = arena.allocate(DType.F64, Shape.of(AdamWKernels.HYPER_DOUBLES));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, ts, shortcut, s);
            GpuSupport.upload(host, tg, gamma, s);
            writeStep(hyperHost, hyper, step, s);
            for (boolean withGamma : new boolean[] {false, true}) {
                double[] ref = withGamma ? refGamma : refPlain;
                Tensor g = withGamma ? tg : null;
                String w = where + (withGamma ? " gamma" : "");
                GpuSupport.poison(dev, tout, s);
                try (Launch l = DropPathLaunch.prepareForward(dev.modules(), tout, ts, tx, g, hyper, seed, block, rate)) {
                    l.launch(s);
                    check("out", GpuSupport.download(host, tout, s), ref, tol, w);
                }
                GpuSupport.upload(host, tout, shortcut, s);
                try (Launch l = DropPathLaunch.prepareForward(dev.modules(), tout, tout, tx, g, hyper, seed, block, rate)) {
                    l.launch(s);
                    check("out (in place)", GpuSupport.download(host, tout, s), ref, tol, w);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} N={2} HW={3} C={4} rate={5}")
    @MethodSource("cases")
    void backwardScalesTheGradientBySample(Backend backend, DType dtype, int samples, int hw, int c, double rate, int block) {
        Random r = new Random(samples * 999_983L + hw * 17L + c + System.nanoTime());
        int n = samples * hw * c;
        long seed = r.nextLong(), step = 1 + r.nextInt(100_000);
        float[] dy = GpuSupport.random(r, n, 0f, 1f);
        double[] scales = DropPathRng.sampleScales(seed, step, block, samples, rate);
        double[] ref = new double[n];
        for (int i = 0; i < n; i++) ref[i] = scales[i / (hw * c)] * dy[i];
        String where = dtype + " N=" + samples + " HW=" + hw + " C=" + c + " rate=" + rate + " seed=" + seed + " step=" + step;
        Shape shape = Shape.of(samples, hw, c);
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(8L * n + (16L << 10));
             PinnedBuffer host = dev.newPinned(4L * n); PinnedBuffer hyperHost = dev.newPinned(AdamWKernels.HYPER_BYTES)) {
            Tensor tdy = arena.allocate(DType.F32, shape), tdx = arena.allocate(dtype, shape);
            Tensor hyper = arena.allocate(DType.F64, Shape.of(AdamWKernels.HYPER_DOUBLES));
            GpuSupport.upload(host, tdy, dy, s);
            writeStep(hyperHost, hyper, step, s);
            GpuSupport.poison(dev, tdx, s);
            try (Launch l = DropPathLaunch.prepareBackward(dev.modules(), tdx, tdy, hyper, seed, block, rate)) {
                l.launch(s);
                check("dx", GpuSupport.download(host, tdx, s), ref, dtype == DType.F32 ? TOL_F32 : TOL_BF16, where);
            }
        }
    }

    /** The step as a training step writes it: the hyperparameter buffer's HYPER_STEP slot, a double. */
    private static void writeStep(PinnedBuffer staging, Tensor hyper, long step, Stream s) {
        AdamWLaunch.writeHyper(staging, new AdamWKernels.Hyper(1e-3, 0.9, 0.999, 1e-8, 0.05, step, 0));
        staging.uploadAsync(hyper, s);
        s.synchronize();
    }

    private static void check(String what, float[] got, double[] ref, double tol, String where) {
        double e = GpuSupport.relError(got, ref);
        assertTrue(e < tol, what + " relative error " + e + " >= " + tol + " for " + where + "; first values "
                + Arrays.toString(Arrays.copyOf(got, Math.min(4, got.length))) + " vs "
                + Arrays.toString(Arrays.copyOf(ref, Math.min(4, ref.length))));
    }
}
