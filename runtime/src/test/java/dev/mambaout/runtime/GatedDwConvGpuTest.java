package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.GraphBuilder;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.GatedDwConvKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.GatedDwConvLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;


import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gated_dwconv forward kernels (rings and column) through {@link GatedDwConvLaunch} against the CPU executor's GatedDwConv op in
 * float64 (PyTorch-layout weight; the GPU gets it repacked tap-major), output poisoned with NaN first. bf16 storage is
 * compared with the reference of the bf16-rounded x. Shapes cover the vector path (hidden, conv multiples of 4 / 8),
 * the scalar path (odd hidden, conv not a multiple of 4), k = 1, 3, 5, 7 (compiled tiles) and 9 (the direct path),
 * conv = hidden (no pointwise items), images smaller than and not divisible by the 8 x 8 tile, and x, out one element
 * off 16-byte alignment (the kernel falls back to scalar units; the vector-path grid is then short, which its
 * grid-stride loop covers).
 */
@Tag("gpu")
class GatedDwConvGpuTest {

    private static final double TOL_F32 = 1e-5, TOL_BF16 = 1e-2;

    // hidden, conv, k, N, H, W, act, misaligned
    private static final Object[][] CASES = {
            {170, 80, 7, 2, 7, 7, Activation.GELU, false},
            {42, 16, 7, 1, 3, 5, Activation.GELU, false},
            {128, 48, 7, 2, 14, 14, Activation.GELU, false},
            {256, 96, 7, 1, 28, 28, Activation.SILU, false},
            {64, 32, 7, 1, 13, 17, Activation.GELU, false},
            {64, 64, 3, 1, 9, 11, Activation.SILU, false},
            {33, 7, 5, 2, 6, 5, Activation.GELU, false},
            {96, 40, 1, 3, 5, 4, Activation.SILU, false},
            {48, 24, 9, 1, 12, 10, Activation.GELU, false},
            {40, 20, 7, 3, 1, 1, Activation.GELU, false},
            {768, 288, 7, 1, 7, 7, Activation.GELU, false},
            {128, 48, 7, 1, 9, 9, Activation.GELU, true},
            // misaligned, so the column path, on sizes whose staged grid is smaller than the column path's
            {256, 96, 7, 1, 28, 28, Activation.SILU, true},
            {3, 1, 3, 1, 2, 3, Activation.SILU, false},
            // rings bands wider than the image (W = 4 and 3; k = 5 takes the column kernel)
            {256, 128, 7, 2, 5, 4, Activation.GELU, false},
            {96, 64, 5, 1, 6, 9, Activation.SILU, false},
            {576, 192, 7, 2, 7, 3, Activation.GELU, false},
            // the rings at 4 columns per lane (GatedDwConvKernels.ringColumns: 336 bf16 / 448 f32 blocks >= 2 x 132
            // SMs), 8 strips of 7 rows, the last band partial (53 columns) and the last channel chunk partial (40)
            {64, 40, 7, 16, 56, 53, Activation.GELU, false},
    };

    static java.util.stream.Stream<Arguments> cases() { return GpuSupport.onBothBackendsAndTypes(CASES); }

    @ParameterizedTest(name = "{0} {1} hidden={2} conv={3} k={4} NHW=({5},{6},{7}) {8} misaligned={9}")
    @MethodSource("cases")
    void matchesTheCpuReference(Backend backend, DType dtype, int hidden, int conv, int k, int n, int h, int w,
                                Activation act, boolean misaligned) {
        Random r = new Random(hidden * 1_000_003L + conv * 131L + k + System.nanoTime());
        int tokens = n * h * w;
        float[] x = GpuSupport.random(r, tokens * 2 * hidden, 0f, 1f);
        if (dtype == DType.BF16) {
            for (int i = 0; i < x.length; i++) x[i] = DType.bf16ToFloat(DType.floatToBf16(x[i]));
        }
        float[] wt = GpuSupport.random(r, conv * k * k, 0f, 1f / k), bs = GpuSupport.random(r, conv, 0f, 0.5f);
        double[] ref = reference(x, wt, bs, n, h, w, hidden, conv, k, act);

        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(Math.max(32L << 20, 4L * tokens * 3 * hidden + (8L << 20)));
             PinnedBuffer host = dev.newPinned(4L * Math.max(tokens * 2 * hidden + 1, conv * k * k))) {
            int off = misaligned ? 1 : 0;
            Tensor xa = arena.allocate(dtype, Shape.of(tokens * 2 * hidden + off));
            Tensor oa = arena.allocate(dtype, Shape.of((tokens * hidden + off + 1) / 2 * 2));   // whole 32-bit words
            Tensor tx = xa.view(off, Shape.nhwc(n, h, w, 2 * hidden)), out = oa.view(off, Shape.nhwc(n, h, w, hidden));
            Tensor tw = arena.allocate(DType.F32, Shape.of(k * k, conv)), tb = arena.allocate(DType.F32, Shape.of(conv));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, tw, GatedDwConvKernels.packTapMajor(wt, conv, k), s);
            GpuSupport.upload(host, tb, bs, s);
            GpuSupport.poison(dev, oa, s);

            try (Launch l = GatedDwConvLaunch.prepare(dev.modules(), out, tx, tw, tb, conv, k, act)) {
                l.launch(s);
                float[] got = GpuSupport.download(host, out, s);
                double e = GpuSupport.relError(got, ref);
                double tol = dtype == DType.F32 ? TOL_F32 : TOL_BF16;
                assertTrue(e < tol, dtype + " relative error " + e + " >= " + tol + " (hidden=" + hidden + " conv="
                        + conv + " k=" + k + " N,H,W=" + n + "," + h + "," + w + "); first values "
                        + Arrays.toString(Arrays.copyOf(got, Math.min(4, got.length))) + " vs "
                        + Arrays.toString(Arrays.copyOf(ref, Math.min(4, ref.length))));
            }
        }
    }

    private static double[] reference(float[] x, float[] weight, float[] bias, int n, int h, int w, int hidden,
                                      int conv, int k, Activation act) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        dev.mambaout.graph.Tensor tx = g.input("x", n, h, w, 2 * hidden);
        dev.mambaout.graph.Tensor tw = g.parameter("w", conv, 1, k, k);
        dev.mambaout.graph.Tensor tb = g.parameter("b", conv);
        dev.mambaout.graph.Tensor out = g.output(g.gatedDwConv(tx, tw, tb, act));
        return new CpuExecutor(Precision.F64).run(g.build(), new Bindings().put(tx, x).put(tw, weight).put(tb, bias))
                .doubles(out);
    }
}
