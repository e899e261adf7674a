package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.LayerNormLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward through {@link LayerNormLaunch}, bf16 storage above all (f32 to check the dtype dispatch), on both
 * backends, outputs poisoned (NaN) first, against a CPU double LayerNorm of the inputs as stored (bf16-rounded).
 *
 * <p>bf16 out: ||out - ref|| / ||ref|| < 1e-2 (one rounding to bf16 is at most 2^-9 relative per element). mean and
 * rstd are f32 sums of exactly representable values, so they meet the f32 bound of LayerNormGpuTest (normwise 1e-5
 * against kappa-scaled terms), as does f32 out. Views at an element offset of 1 (or 4 bf16 = 8 bytes) take the scalar
 * path; C = 776 and 1023 the warp-per-token rows (16-byte units and scalar).
 */
@Tag("gpu")
class LayerNormForwardGpuTest {

    private static final double EPS = 1e-5;
    private static final double F32_TOL = 1e-5, BF16_TOL = 1e-2;

    // x dtype, out dtype, C, n, h, w, element offset of the x and out views, whether mean/rstd are written
    private static final Object[][] SHAPES = {
            {DType.BF16, DType.BF16, 42, 2, 7, 9, 0, true}, {DType.BF16, DType.BF16, 85, 3, 5, 7, 0, false}, {DType.BF16, DType.BF16, 170, 1, 13, 11, 0, true},
            {DType.BF16, DType.BF16, 48, 4, 14, 14, 0, true}, {DType.BF16, DType.BF16, 48, 1, 7, 9, 1, true}, {DType.BF16, DType.BF16, 96, 2, 28, 28, 0, false},
            {DType.BF16, DType.BF16, 96, 1, 5, 5, 4, true}, {DType.BF16, DType.BF16, 192, 3, 7, 7, 0, true}, {DType.BF16, DType.BF16, 288, 1, 7, 7, 0, false},
            {DType.BF16, DType.BF16, 384, 1, 9, 9, 0, true}, {DType.BF16, DType.BF16, 576, 1, 7, 7, 0, true}, {DType.BF16, DType.BF16, 1, 1, 3, 3, 0, true},
            {DType.BF16, DType.BF16, 768, 1, 9, 9, 0, true}, {DType.BF16, DType.BF16, 776, 1, 3, 5, 0, true}, {DType.BF16, DType.BF16, 1023, 1, 3, 3, 0, true},
            {DType.F32, DType.F32, 48, 1, 7, 9, 0, true}, {DType.F32, DType.F32, 85, 3, 5, 7, 0, false}, {DType.F32, DType.F32, 288, 1, 7, 7, 1, true},
            // f32 in, bf16 out: a bf16 program's residual stream into its next GEMM (vector and scalar paths)
            {DType.F32, DType.BF16, 48, 2, 14, 14, 0, false}, {DType.F32, DType.BF16, 85, 3, 5, 7, 0, true},
            {DType.F32, DType.BF16, 288, 1, 7, 7, 1, true}, {DType.F32, DType.BF16, 768, 1, 9, 9, 0, false}};

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values()) {
            for (Object[] s : SHAPES) {
                Object[] a = new Object[s.length + 1];
                a[0] = b;
                System.arraycopy(s, 0, a, 1, s.length);
                out.add(Arguments.of(a));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}->{2} C={3} NHWC=({4},{5},{6}) offset={7} stats={8}")
    @MethodSource("cases")
    void forwardMatchesTheCpuReference(Backend backend, DType dtype, DType outType, int c, int n, int h, int w,
                                       int offset, boolean stats) {
        Random r = new Random(c * 1_000_003L + System.nanoTime());
        Shape shape = Shape.nhwc(n, h, w, c);
        int tokens = Math.toIntExact(shape.tokens()), numel = tokens * c;
        float[] x = GpuSupport.random(r, numel, 2f, 3f);  // non-zero mean on purpose
        if (dtype == DType.BF16) {
            for (int i = 0; i < numel; i++) x[i] = DType.bf16ToFloat(DType.floatToBf16(x[i]));
        }
        float[] wt = GpuSupport.random(r, c, 1f, 0.2f), bs = GpuSupport.random(r, c, 0f, 0.2f);

        double[] ro = new double[numel], so = new double[numel], rm = new double[tokens], rr = new double[tokens];
        double[] sm = new double[tokens], sr = new double[tokens];
        for (int t = 0; t < tokens; t++) {
            double m = 0, v = 0, xmax = 0;
            for (int i = 0; i < c; i++) m += x[t * c + i];
            m /= c;
            for (int i = 0; i < c; i++) v += (x[t * c + i] - m) * (x[t * c + i] - m);
            double s = 1 / Math.sqrt(v / c + EPS);
            for (int i = 0; i < c; i++) xmax = Math.max(xmax, Math.abs(x[t * c + i]));
            double kappa = Math.max(1, xmax * s);
            rm[t] = m;
            rr[t] = s;
            sm[t] = xmax;
            sr[t] = s * kappa;
            for (int i = 0; i < c; i++) {
                double xh = (x[t * c + i] - m) * s;
                ro[t * c + i] = xh * wt[i] + bs[i];
                so[t * c + i] = kappa * (Math.abs(xh * wt[i]) + Math.abs(bs[i]));
            }
        }

        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(16L << 20); PinnedBuffer host = dev.newPinned(4L * numel + 64)) {
            Shape padded = Shape.of(numel + offset);
            Tensor tx = arena.allocate(dtype, padded).view(offset, shape);
            Tensor out = arena.allocate(outType, padded).view(offset, shape);
            Tensor tw = arena.allocate(DType.F32, Shape.of(c)), tb = arena.allocate(DType.F32, Shape.of(c));
            Tensor mean = stats ? arena.allocate(DType.F32, Shape.of(tokens)) : null;
            Tensor rstd = stats ? arena.allocate(DType.F32, Shape.of(tokens)) : null;
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, tw, wt, s);
            GpuSupport.upload(host, tb, bs, s);
            for (Tensor t : new Tensor[] {out, mean, rstd}) {
                if (t != null) dev.driver().memsetD8Async(t.address(), (byte) 0xff, t.bytes(), s.handle());  // NaN
            }

            try (Launch fwd = LayerNormLaunch.prepareForward(dev.modules(), out, mean, rstd, tx, tw, tb, EPS)) {
                fwd.launch(s);
                String where = backend + " " + dtype + "->" + outType + " C=" + c + " tokens=" + tokens + " offset=" + offset;
                float[] got = GpuSupport.download(host, out, s);
                double e = outType == DType.BF16 ? GpuSupport.relError(got, ro) : GpuSupport.relError(got, ro, so);
                double tol = outType == DType.BF16 ? BF16_TOL : F32_TOL;
                assertTrue(e < tol, "out relative error " + e + " >= " + tol + " (" + where + "); first values "
                        + Arrays.toString(Arrays.copyOf(got, Math.min(4, got.length))));
                if (stats) {
                    double em = GpuSupport.relError(GpuSupport.download(host, mean, s), rm, sm);
                    double er = GpuSupport.relError(GpuSupport.download(host, rstd, s), rr, sr);
                    assertTrue(em < F32_TOL && er < F32_TOL, "mean/rstd relative error " + em + " / " + er + " ("
                            + where + ")");
                }
            }
        }
    }

}
