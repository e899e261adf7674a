package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.LayerScaleKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.LayerScaleBackwardLaunch;
import dev.mambaout.runtime.launch.LayerScaleLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * layerscale_residual_forward_{f32,bf16}, layerscale_backward_{f32,bf16} + layerscale_backward_finalize through
 * {@link LayerScaleLaunch} and {@link LayerScaleBackwardLaunch} against {@link LayerScaleKernels}' double reference.
 * Fresh random inputs per run; bf16 x is compared with the reference of the bf16-rounded x. Every output (and the
 * workspace) is poisoned with NaN first; ||out - ref|| / ||ref|| per tensor (NaN fails). The forward runs into a
 * separate out and in place (out = shortcut); the backward writes dGamma, reruns bitwise identically (fixed-order
 * sums), then adds into a random dGamma. Sizes: tokens 1, 37, 1000 x C 1, 3, 24, 197 (the scalar path for odd C),
 * the femto widths, enough tokens for the 528-block cap, and views one element off alignment (the scalar path for
 * C % 4 == 0).
 */
@Tag("gpu")
class LayerScaleGpuTest {

    private static final double TOL_F32 = 1e-5, TOL_BF16 = 1e-2;

    // tokens, C, misaligned
    private static final Object[][] CASES = {
            {1, 1, false}, {1, 3, false}, {1, 24, false}, {1, 197, false},
            {37, 1, false}, {37, 3, false}, {37, 24, false}, {37, 197, false},
            {1000, 1, false}, {1000, 3, false}, {1000, 24, false}, {1000, 197, false},
            {3136, 48, false}, {2 * 196, 192, false}, {9000, 96, false}, {12_544, 288, false}, {49, 576, false},
            {37, 24, true}, {1000, 197, true}, {9000, 96, true},
    };

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> cases() {
        return GpuSupport.onBothBackendsAndTypes(CASES);
    }

    @ParameterizedTest(name = "{0} {1} tokens={2} C={3} misaligned={4}")
    @MethodSource("cases")
    void forwardMatchesTheReferenceAlsoInPlace(Backend backend, DType dtype, int tokens, int c, boolean misaligned) {
        Random r = new Random(tokens * 1_000_003L + c + System.nanoTime());
        int n = tokens * c, off = misaligned ? 1 : 0;
        float[] shortcut = GpuSupport.random(r, n, 0f, 1f);
        float[] x = GpuSupport.stored(GpuSupport.random(r, n, 0f, 1f), dtype);
        float[] gamma = GpuSupport.random(r, c, 0f, 0.5f);
        double[] ref = LayerScaleKernels.forwardReference(shortcut, x, gamma, tokens, c);
        Shape shape = Shape.of(tokens, c);
        String where = dtype + " tokens=" + tokens + " C=" + c + (misaligned ? " misaligned" : "");
        double tol = dtype == DType.F32 ? TOL_F32 : TOL_BF16;
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(16L * (n + 1) + 4L * c + (16L << 10));
             PinnedBuffer host = dev.newPinned(4L * (n + 1))) {
            Tensor tx = arena.allocate(dtype, Shape.of(n + off)).view(off, shape);
            Tensor ts = arena.allocate(DType.F32, Shape.of(n + off)).view(off, shape);
            Tensor outa = arena.allocate(DType.F32, Shape.of(n + off));
            Tensor tout = outa.view(off, shape);
            Tensor tg = arena.allocate(DType.F32, Shape.of(c));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, ts, shortcut, s);
            GpuSupport.upload(host, tg, gamma, s);

            GpuSupport.poison(dev, outa, s);
            try (Launch l = LayerScaleLaunch.prepare(dev.modules(), tout, ts, tx, tg)) {
                l.launch(s);
                check("out", GpuSupport.download(host, tout, s), ref, tol, where);
            }
            GpuSupport.upload(host, tout, shortcut, s);
            try (Launch l = LayerScaleLaunch.prepare(dev.modules(), tout, tout, tx, tg)) {
                l.launch(s);
                check("out (in place)", GpuSupport.download(host, tout, s), ref, tol, where);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} tokens={2} C={3} misaligned={4}")
    @MethodSource("cases")
    void backwardMatchesTheReferenceWritesAndAccumulates(Backend backend, DType dtype, int tokens, int c,
                                                         boolean misaligned) {
        Random r = new Random(tokens * 999_983L + c + System.nanoTime());
        int n = tokens * c, off = misaligned ? 1 : 0;
        float[] dy = GpuSupport.random(r, n, 0f, 1f);
        float[] x = GpuSupport.stored(GpuSupport.random(r, n, 0f, 1f), dtype);
        float[] gamma = GpuSupport.random(r, c, 0f, 0.5f);
        float[] dGamma0 = GpuSupport.random(r, c, 0f, 10f);
        LayerScaleKernels.Grads ref = LayerScaleKernels.backwardReference(dy, x, gamma, tokens, c);
        double[] refAcc = ref.dGamma().clone();
        for (int i = 0; i < c; i++) refAcc[i] += dGamma0[i];
        Shape shape = Shape.of(tokens, c);
        long wsFloats = LayerScaleBackwardLaunch.workspaceFloats(shape);
        String where = dtype + " tokens=" + tokens + " C=" + c + (misaligned ? " misaligned" : "");
        double tol = dtype == DType.F32 ? TOL_F32 : TOL_BF16;
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(16L * (n + 1) + 4L * (3L * c + wsFloats) + (16L << 10));
             PinnedBuffer host = dev.newPinned(4L * (n + 1))) {
            Tensor tx = arena.allocate(dtype, Shape.of(n + off)).view(off, shape);
            Tensor tdy = arena.allocate(DType.F32, Shape.of(n + off)).view(off, shape);
            Tensor dxa = arena.allocate(dtype, Shape.of(n + off));
            Tensor dx = dxa.view(off, shape);
            Tensor tg = arena.allocate(DType.F32, Shape.of(c)), dg = arena.allocate(DType.F32, Shape.of(c));
            Tensor ws = arena.allocate(DType.F32, Shape.of(Math.toIntExact(wsFloats)));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, tdy, dy, s);
            GpuSupport.upload(host, tg, gamma, s);

            try (LayerScaleBackwardLaunch write = LayerScaleBackwardLaunch.prepare(dev.modules(), dx, dg, ws, tdy, tx,
                    tg, false);
                 LayerScaleBackwardLaunch add = LayerScaleBackwardLaunch.prepare(dev.modules(), dx, dg, ws, tdy, tx,
                         tg, true)) {
                GpuSupport.poison(dev, dg, s);
                float[][] first = run(dev, s, host, write, dxa, dx, dg, ws);
                check("dx", first[0], ref.dx(), tol, where);
                check("dGamma", first[1], ref.dGamma(), tol, where);

                GpuSupport.poison(dev, dg, s);
                float[][] second = run(dev, s, host, write, dxa, dx, dg, ws);
                assertArrayEquals(bits(first[0]), bits(second[0]), "dx differs between two runs " + where);
                assertArrayEquals(bits(first[1]), bits(second[1]), "dGamma differs between two runs " + where);

                GpuSupport.upload(host, dg, dGamma0, s);
                float[][] acc = run(dev, s, host, add, dxa, dx, dg, ws);
                check("dx (accumulating dGamma)", acc[0], ref.dx(), tol, where);
                check("dGamma accumulated", acc[1], refAcc, tol, where);
            }
        }
    }

    /** Poisons dx (all of its allocation) and the workspace, launches, downloads dx and dGamma. */
    private static float[][] run(Device dev, Stream s, PinnedBuffer host, LayerScaleBackwardLaunch l, Tensor dxa,
                                 Tensor dx, Tensor dg, Tensor ws) {
        GpuSupport.poison(dev, dxa, s);
        GpuSupport.poison(dev, ws, s);
        l.launch(s);
        s.synchronize();
        return new float[][] {GpuSupport.download(host, dx, s), GpuSupport.download(host, dg, s)};
    }

    private static void check(String what, float[] got, double[] ref, double tol, String where) {
        double e = GpuSupport.relError(got, ref);
        assertTrue(e < tol, what + " relative error " + e + " >= " + tol + " for " + where + "; first values "
                + Arrays.toString(Arrays.copyOf(got, Math.min(4, got.length))) + " vs "
                + Arrays.toString(Arrays.copyOf(ref, Math.min(4, ref.length))));
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
