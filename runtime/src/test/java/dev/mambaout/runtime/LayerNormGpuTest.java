package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.LayerNormKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static dev.mambaout.kernels.KernelArg.i32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * layernorm_forward / layernorm_backward(+reduce) against a CPU double-precision LayerNorm, outputs poisoned.
 *
 * <p>Error: normwise, ||got - ref|| / ||scale|| < 1e-5, where the scale is what rounding the float inputs alone would
 * perturb: each token's terms times kappa = max(1, max|x| * rstd). A token whose values nearly coincide has a tiny
 * std, and any float LayerNorm loses digits on it in proportion to max|x| / std (the input's conditioning, not the
 * kernel); dx is scaled by the size of its terms, since it is exactly 0 when C = 1. A float kernel lands near 3e-8.
 */
@Tag("gpu")
class LayerNormGpuTest {

    private static final float EPS = 1e-5f;
    private static final double TOL = 1e-5;

    @ParameterizedTest(name = "C={0} NHWC=({1},{2},{3}) rowsPerBlock={4}")
    @CsvSource({
            "42, 2, 7, 9, 0", "85, 3, 5, 7, 0", "170, 1, 13, 11, 3", "48, 4, 14, 14, 0", "96, 2, 28, 28, 8",
            "192, 3, 7, 7, 0", "288, 2, 7, 7, 5", "1, 1, 3, 3, 0", "768, 1, 9, 9, 0"})
    void forwardAndBackwardMatchTheCpuReference(int c, int n, int h, int w, int rowsOverride) {
        Random r = new Random(c * 1_000_003L + System.nanoTime());
        Shape shape = Shape.nhwc(n, h, w, c);
        int tokens = Math.toIntExact(shape.tokens());
        float[] x = GpuSupport.random(r, tokens * c, 2f, 3f);   // non-zero mean on purpose
        float[] g = GpuSupport.random(r, tokens * c, 0f, 1f);
        float[] wt = GpuSupport.random(r, c, 1f, 0.2f), bs = GpuSupport.random(r, c, 0f, 0.2f);

        // CPU reference in double.
        double[] ro = new double[tokens * c], rm = new double[tokens], rr = new double[tokens];
        double[] rdx = new double[tokens * c], rdw = new double[c], rdb = new double[c];
        double[] so = new double[tokens * c], sm = new double[tokens], sr = new double[tokens], sdx = new double[tokens * c];
        for (int t = 0; t < tokens; t++) {
            double m = 0, v = 0;
            for (int i = 0; i < c; i++) m += x[t * c + i];
            m /= c;
            for (int i = 0; i < c; i++) v += (x[t * c + i] - m) * (x[t * c + i] - m);
            double s = 1 / Math.sqrt(v / c + EPS);
            rm[t] = m;
            rr[t] = s;
            double xmax = 0;
            for (int i = 0; i < c; i++) xmax = Math.max(xmax, Math.abs(x[t * c + i]));
            double kappa = Math.max(1, xmax * s);
            sm[t] = xmax;
            sr[t] = s * kappa;
            double a = 0, b = 0;
            for (int i = 0; i < c; i++) {
                double xh = (x[t * c + i] - m) * s, dn = g[t * c + i] * (double) wt[i];
                ro[t * c + i] = xh * wt[i] + bs[i];
                so[t * c + i] = kappa * (Math.abs(xh * wt[i]) + Math.abs(bs[i]));
                a += dn;
                b += dn * xh;
                rdw[i] += g[t * c + i] * xh;
                rdb[i] += g[t * c + i];
            }
            a /= c;
            b /= c;
            for (int i = 0; i < c; i++) {
                double xh = (x[t * c + i] - m) * s;
                rdx[t * c + i] = s * (g[t * c + i] * (double) wt[i] - a - xh * b);
                sdx[t * c + i] = kappa * s * (Math.abs(g[t * c + i] * (double) wt[i]) + Math.abs(a) + Math.abs(xh * b));
            }
        }

        try (Device dev = GpuSupport.open(Backend.PANAMA); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(64L << 20); PinnedBuffer host = dev.newPinned(4L * tokens * c)) {
            int rows = rowsOverride > 0 ? rowsOverride : LayerNormKernels.backwardRowsPerBlock(tokens, dev.info().smCount());
            int partials = LayerNormKernels.backwardGrid(tokens, rows);
            Tensor tx = arena.allocate(DType.F32, shape), tg = arena.allocate(DType.F32, shape);
            Tensor tw = arena.allocate(DType.F32, Shape.of(c)), tb = arena.allocate(DType.F32, Shape.of(c));
            Tensor out = arena.allocate(DType.F32, shape), dx = arena.allocate(DType.F32, shape);
            Tensor mean = arena.allocate(DType.F32, Shape.of(tokens)), rstd = arena.allocate(DType.F32, Shape.of(tokens));
            Tensor dwp = arena.allocate(DType.F32, Shape.of(partials, c)), dbp = arena.allocate(DType.F32, Shape.of(partials, c));
            Tensor dw = arena.allocate(DType.F32, Shape.of(c)), db = arena.allocate(DType.F32, Shape.of(c));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, tg, g, s);
            GpuSupport.upload(host, tw, wt, s);
            GpuSupport.upload(host, tb, bs, s);
            for (Tensor t : new Tensor[] {out, dx, mean, rstd, dwp, dbp, dw, db}) GpuSupport.poison(dev, t, s);

            KernelModules k = dev.modules();
            Tensor x2 = tx.asTokens(), o2 = out.asTokens(), g2 = tg.asTokens(), dx2 = dx.asTokens();
            try (Launch fwd = k.prepare(KernelCatalog.LAYERNORM_FORWARD, Dim3.of(LayerNormKernels.forwardGrid(tokens, c)),
                         Dim3.of(LayerNormKernels.BLOCK), 0, o2.arg(), mean.arg(), rstd.arg(), x2.arg(), tw.arg(),
                         tb.arg(), i32(tokens), i32(c), KernelArg.f32(EPS));
                 Launch bwd = k.prepare(KernelCatalog.LAYERNORM_BACKWARD, Dim3.of(partials), Dim3.of(LayerNormKernels.BLOCK),
                         0, dx2.arg(), dwp.arg(), dbp.arg(), g2.arg(), x2.arg(), tw.arg(), mean.arg(), rstd.arg(),
                         i32(tokens), i32(c), i32(rows));
                 Launch red = k.prepare(KernelCatalog.LAYERNORM_BACKWARD_REDUCE, Dim3.of(LayerNormKernels.reduceGrid(c)),
                         Dim3.of(LayerNormKernels.BLOCK), 0, dw.arg(), db.arg(), dwp.arg(), dbp.arg(), i32(partials),
                         i32(c))) {
                fwd.launch(s);
                bwd.launch(s);
                red.launch(s);
                String where = "C=" + c + " tokens=" + tokens + " rows/block=" + rows;
                check("out", GpuSupport.download(host, out, s), ro, so, where);
                check("mean", GpuSupport.download(host, mean, s), rm, sm, where);
                check("rstd", GpuSupport.download(host, rstd, s), rr, sr, where);
                check("dx", GpuSupport.download(host, dx, s), rdx, sdx, where);
                float[] dw1 = GpuSupport.download(host, dw, s), db1 = GpuSupport.download(host, db, s);
                check("dweight", dw1, rdw, rdw, where);
                check("dbias", db1, rdb, rdb, where);

                // Deterministic: a second backward gives the same bits.
                GpuSupport.poison(dev, dw, s);
                bwd.launch(s);
                red.launch(s);
                assertArrayEquals(dw1, GpuSupport.download(host, dw, s), "dweight not bit-identical on rerun, " + where);
            }
        }
    }

    private static void check(String what, float[] got, double[] ref, double[] scale, String where) {
        double e = GpuSupport.relError(got, ref, scale);
        assertTrue(e < TOL, what + " relative error " + e + " >= " + TOL + " (" + where + "); first values "
                + Arrays.toString(Arrays.copyOf(got, Math.min(4, got.length))));
    }
}
