package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.GatedDwConvBackwardReference;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.GatedDwConvKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.GatedDwConvBackwardLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gated_dwconv_backward_{f32,bf16} + gated_dwconv_backward_reduce through {@link GatedDwConvBackwardLaunch} against
 * graph's GatedDwConvBackward op on the float64 CPU executor (PyTorch-layout weight; the GPU gets it packed tap-major
 * and its dWeight is compared with the reference's packed the same way). Fresh random x, dy, weight, bias per run;
 * bf16 storage is compared with the reference of the bf16-rounded x and dy. Every output (dx, dWeight, dBias) and the
 * workspace are poisoned with NaN first; ||out - ref|| / ||ref|| per tensor (NaN fails). Then a second launch on
 * re-poisoned outputs must give bitwise the same dx, dWeight, dBias (fixed-order sums). Shapes: odd hidden, conv !=
 * hidden and conv = hidden, conv not a multiple of the 32-channel chunk, k = 1, 3, 5, 7, 1x1 and other small odd
 * images, N > 1, strips (tall images at small batch), blocks looping over several work units (many images), and x,
 * dy, dx one element off 16-byte alignment (the pointwise part falls back to one channel per unit).
 */
@Tag("gpu")
class GatedDwConvBackwardGpuTest {

    private static final double TOL_F32 = 1e-5, TOL_BF16 = 1e-2;

    // hidden, conv, k, N, H, W, act, misaligned
    private static final Object[][] CASES = {
            {170, 80, 7, 2, 7, 7, Activation.GELU, false},
            {42, 16, 7, 1, 3, 5, Activation.GELU, false},
            {128, 48, 7, 2, 14, 14, Activation.GELU, false},
            {33, 7, 5, 2, 6, 5, Activation.GELU, false},
            {37, 37, 3, 3, 5, 9, Activation.SILU, false},
            {96, 40, 1, 3, 5, 4, Activation.SILU, false},
            {40, 20, 7, 3, 1, 1, Activation.GELU, false},
            {65, 36, 5, 2, 13, 17, Activation.SILU, false},
            {51, 19, 3, 4, 20, 3, Activation.GELU, false},      // 2 strips of 10 rows
            {24, 8, 7, 1, 41, 9, Activation.SILU, false},       // 5 strips of 9 rows, 2 bands
            {192, 160, 3, 120, 3, 3, Activation.GELU, false},   // 106 splits per chunk over 120 units
            {40, 32, 5, 600, 2, 2, Activation.SILU, false},     // 528 splits over 600 units
            {256, 96, 7, 1, 28, 28, Activation.SILU, false},
            {768, 288, 7, 2, 7, 7, Activation.GELU, false},
            {128, 48, 7, 1, 9, 9, Activation.GELU, true},
            {35, 13, 3, 2, 5, 3, Activation.SILU, true},
            {3, 1, 3, 1, 2, 3, Activation.SILU, false},
    };

    static java.util.stream.Stream<Arguments> cases() { return GpuSupport.onBothBackendsAndTypes(CASES); }

    @ParameterizedTest(name = "{0} {1} hidden={2} conv={3} k={4} NHW=({5},{6},{7}) {8} misaligned={9}")
    @MethodSource("cases")
    void matchesTheCpuReferenceAndIsDeterministic(Backend backend, DType dtype, int hidden, int conv, int k, int n,
                                                  int h, int w, Activation act, boolean misaligned) {
        Random r = new Random(hidden * 1_000_003L + conv * 131L + k + System.nanoTime());
        int tokens = n * h * w, xn = tokens * 2 * hidden, yn = tokens * hidden, taps = k * k;
        float[] x = GpuSupport.stored(GpuSupport.random(r, xn, 0f, 1f), dtype);
        float[] dy = GpuSupport.stored(GpuSupport.random(r, yn, 0f, 1f), dtype);
        float[] wt = GpuSupport.random(r, conv * taps, 0f, 1f / k), bs = GpuSupport.random(r, conv, 0f, 0.5f);
        GatedDwConvBackwardReference.Grads ref =
                GatedDwConvBackwardReference.run(x, wt, bs, dy, n, h, w, hidden, conv, k, act);
        double[] refDw = packTapMajor(ref.dWeight(), conv, k);

        long wsFloats = GatedDwConvBackwardLaunch.workspaceFloats(n, h, w, conv, k);
        int eb = dtype.bytes(), off = misaligned ? 1 : 0;
        long arenaBytes = (long) (2L * xn + yn + 3) * eb + 4L * (3L * conv * taps + 2L * conv + wsFloats) + (16L << 10);
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(arenaBytes);
             PinnedBuffer host = dev.newPinned(4L * Math.max(xn + 1, conv * taps))) {
            Tensor xa = arena.allocate(dtype, Shape.of(xn + off)), dya = arena.allocate(dtype, Shape.of(yn + off));
            Tensor dxa = arena.allocate(dtype, Shape.of(xn + off));
            Tensor tx = xa.view(off, Shape.nhwc(n, h, w, 2 * hidden)), tdy = dya.view(off, Shape.nhwc(n, h, w, hidden));
            Tensor dx = dxa.view(off, Shape.nhwc(n, h, w, 2 * hidden));
            Tensor tw = arena.allocate(DType.F32, Shape.of(taps, conv)), tb = arena.allocate(DType.F32, Shape.of(conv));
            Tensor dw = arena.allocate(DType.F32, Shape.of(taps, conv)), db = arena.allocate(DType.F32, Shape.of(conv));
            Tensor ws = arena.allocate(DType.F32, Shape.of(Math.toIntExact(wsFloats)));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, tdy, dy, s);
            GpuSupport.upload(host, tw, GatedDwConvKernels.packTapMajor(wt, conv, k), s);
            GpuSupport.upload(host, tb, bs, s);

            try (GatedDwConvBackwardLaunch l = GatedDwConvBackwardLaunch.prepare(dev.modules(), dx, dw, db, ws, tx,
                    tdy, tw, tb, conv, k, act)) {
                float[][] first = run(dev, s, host, l, dxa, dx, dw, db, ws);
                String where = dtype + " (hidden=" + hidden + " conv=" + conv + " k=" + k + " N,H,W=" + n + "," + h
                        + "," + w + " " + act + (misaligned ? " misaligned" : "") + ")";
                double tol = dtype == DType.F32 ? TOL_F32 : TOL_BF16;
                check("dx", first[0], ref.dx(), tol, where);
                check("dWeight", first[1], refDw, tol, where);
                check("dBias", first[2], ref.dBias(), tol, where);

                float[][] second = run(dev, s, host, l, dxa, dx, dw, db, ws);
                String[] names = {"dx", "dWeight", "dBias"};
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(bits(first[i]), bits(second[i]), names[i] + " differs between two runs " + where);
                }
            }
        }
    }

    /** Poisons dx (all of its allocation), dWeight, dBias and the workspace, launches, downloads the three outputs. */
    private static float[][] run(Device dev, Stream s, PinnedBuffer host, GatedDwConvBackwardLaunch l, Tensor dxa,
                                 Tensor dx, Tensor dw, Tensor db, Tensor ws) {
        GpuSupport.poison(dev, dxa, s);
        GpuSupport.poison(dev, dw, s);
        GpuSupport.poison(dev, db, s);
        GpuSupport.poison(dev, ws, s);
        l.launch(s);
        s.synchronize();
        return new float[][] {GpuSupport.download(host, dx, s), GpuSupport.download(host, dw, s),
                GpuSupport.download(host, db, s)};
    }

    private static void check(String what, float[] got, double[] ref, double tol, String where) {
        double e = GpuSupport.relError(got, ref);
        assertTrue(e < tol, what + " relative error " + e + " >= " + tol + " for " + where + "; first values "
                + Arrays.toString(Arrays.copyOf(got, Math.min(4, got.length))) + " vs "
                + Arrays.toString(Arrays.copyOf(ref, Math.min(4, ref.length))));
    }

    /** PyTorch's [conv,1,k,k] as the kernel's tap-major [k*k, conv] (as GatedDwConvKernels.packTapMajor, in double). */
    private static double[] packTapMajor(double[] torch, int conv, int k) {
        int taps = k * k;
        double[] p = new double[torch.length];
        for (int c = 0; c < conv; c++) {
            for (int t = 0; t < taps; t++) p[t * conv + c] = torch[c * taps + t];
        }
        return p;
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
