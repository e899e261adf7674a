package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.LayerNormBackwardLaunch;
import dev.mambaout.runtime.launch.LayerNormLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.mambaout.graph.DType.BF16;
import static dev.mambaout.graph.DType.F32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every layernorm_backward* variant through {@link LayerNormBackwardLaunch}, on both backends, against a CPU double
 * LayerNorm backward of the inputs as stored (bf16-rounded where bf16): the graph's LayerNormBackward semantics (dx,
 * dWeight, dBias of LayerNorm(x) over the last dimension) with mean and rstd taken from the forward kernel
 * (LayerNormLaunch, the contract training keeps: the forward writes them, the backward reads them).
 *
 * <p>Outputs are poisoned (NaN) first; with accumulate, dx is pre-filled with random values and the expected value is
 * those plus the reference dx. Views at an element offset of 1 take the scalar path, 4 a vector path (16 bytes of
 * f32, 8 of bf16); C = 48..288 the register groups, 576 the shared-memory warp rows, 776 and 1023 the long-row path,
 * 37 and 85 the scalar groups. Error: normwise against LayerNormGpuTest's kappa-scaled terms (for accumulate plus
 * |prefill|): f32 dx < 1e-5 (the reference sees the same bf16-rounded inputs, so bf16 inputs alone do not loosen it),
 * bf16 dx < 1e-2 (one rounding at the store, at most 2^-9 of each element); dWeight and dBias (f32) < 1e-5 of their
 * own norm. A second run must give the same bits (the partials are reduced in a fixed order).
 */
@Tag("gpu")
class LayerNormBackwardGpuTest {

    private static final double EPS = 1e-5;
    private static final double F32_TOL = 1e-5, BF16_TOL = 1e-2;

    /** dy, x, dx, accumulate: every variant. */
    private static final Object[][] VARIANTS = {
            {F32, F32, F32, false}, {F32, F32, F32, true}, {BF16, F32, F32, true}, {BF16, F32, F32, false},
            {F32, F32, BF16, false}, {BF16, F32, BF16, false}, {BF16, BF16, BF16, false}};

    /** C, leading dimensions (tokens = their product), element offset of the x, dy and dx views, rows per block (0: default). */
    private static final Object[][] SHAPES = {
            {48, new int[] {4099}, 0, 0}, {48, new int[] {7}, 4, 1}, {96, new int[] {7}, 0, 0},
            {96, new int[] {4099}, 1, 0}, {96, new int[] {3, 7, 11}, 0, 5}, {288, new int[] {4099}, 0, 0},
            {288, new int[] {1}, 0, 0}, {576, new int[] {4099}, 0, 0}, {576, new int[] {7}, 1, 3},
            {37, new int[] {4099}, 0, 0}, {85, new int[] {7}, 0, 3}, {85, new int[] {1}, 1, 0},
            {776, new int[] {7}, 0, 0}, {1023, new int[] {7}, 0, 0}, {1, new int[] {7}, 0, 0}};

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values()) {
            for (Object[] v : VARIANTS) {
                for (Object[] s : SHAPES) out.add(Arguments.of(b, v[0], v[1], v[2], v[3], s[0], s[1], s[2], s[3]));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} dy {1} x {2} dx {3} acc={4} C={5} dims={6} offset={7} rows={8}")
    @MethodSource("cases")
    void backwardMatchesTheCpuReference(Backend backend, DType dyType, DType xType, DType dxType, boolean accumulate,
                                        int c, int[] lead, int offset, int rowsOverride) {
        Random r = new Random(c * 1_000_003L + lead.length * 7919L + System.nanoTime());
        int[] dims = Arrays.copyOf(lead, lead.length + 1);
        dims[lead.length] = c;
        Shape shape = Shape.of(dims);
        int tokens = Math.toIntExact(shape.tokens()), numel = tokens * c;
        float[] x = GpuSupport.stored(GpuSupport.random(r, numel, 2f, 3f), xType);  // non-zero mean on purpose
        float[] g = GpuSupport.stored(GpuSupport.random(r, numel, 0f, 1f), dyType);
        float[] wt = GpuSupport.random(r, c, 1f, 0.2f), bs = GpuSupport.random(r, c, 0f, 0.2f);
        float[] prefill = accumulate ? GpuSupport.random(r, numel, 0f, 1f) : null;

        // CPU reference in double, from the stored values.
        double[] rdx = new double[numel], sdx = new double[numel], rdw = new double[c], rdb = new double[c];
        for (int t = 0; t < tokens; t++) {
            double m = 0, v = 0, xmax = 0;
            for (int i = 0; i < c; i++) m += x[t * c + i];
            m /= c;
            for (int i = 0; i < c; i++) v += (x[t * c + i] - m) * (x[t * c + i] - m);
            double s = 1 / Math.sqrt(v / c + EPS);
            for (int i = 0; i < c; i++) xmax = Math.max(xmax, Math.abs(x[t * c + i]));
            double kappa = Math.max(1, xmax * s), a = 0, b = 0;
            for (int i = 0; i < c; i++) {
                double xh = (x[t * c + i] - m) * s, dn = g[t * c + i] * (double) wt[i];
                a += dn;
                b += dn * xh;
                rdw[i] += g[t * c + i] * xh;
                rdb[i] += g[t * c + i];
            }
            a /= c;
            b /= c;
            for (int i = 0; i < c; i++) {
                int e = t * c + i;
                double xh = (x[e] - m) * s, dn = g[e] * (double) wt[i];
                rdx[e] = s * (dn - a - xh * b);
                sdx[e] = kappa * s * (Math.abs(dn) + Math.abs(a) + Math.abs(xh * b));
                if (accumulate) {
                    rdx[e] += prefill[e];
                    sdx[e] += Math.abs(prefill[e]);
                }
            }
        }

        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(64L << 20); PinnedBuffer host = dev.newPinned(4L * (numel + offset) + 64)) {
            KernelModules k = dev.modules();
            int rows = rowsOverride > 0 ? rowsOverride : LayerNormBackwardLaunch.rowsPerBlock(k, shape);
            Shape padded = Shape.of(numel + offset);
            Tensor tx = arena.allocate(xType, padded).view(offset, shape);
            Tensor tg = arena.allocate(dyType, padded).view(offset, shape);
            Tensor dx = arena.allocate(dxType, padded).view(offset, shape);
            Tensor out = arena.allocate(xType, shape);
            Tensor tw = arena.allocate(F32, Shape.of(c)), tb = arena.allocate(F32, Shape.of(c));
            Tensor mean = arena.allocate(F32, Shape.of(tokens)), rstd = arena.allocate(F32, Shape.of(tokens));
            Tensor dw = arena.allocate(F32, Shape.of(c)), db = arena.allocate(F32, Shape.of(c));
            Tensor ws = arena.allocate(F32, Shape.of(Math.toIntExact(LayerNormBackwardLaunch.workspaceFloats(shape, rows))));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, tg, g, s);
            GpuSupport.upload(host, tw, wt, s);
            GpuSupport.upload(host, tb, bs, s);
            for (Tensor t : new Tensor[] {out, mean, rstd}) GpuSupport.poison(dev, t, s);

            String where = backend + " dy " + dyType + " x " + xType + " dx " + dxType + (accumulate ? " +=" : "")
                    + " C=" + c + " shape=" + shape + " offset=" + offset + " rows/block=" + rows;
            try (Launch fwd = LayerNormLaunch.prepareForward(k, out, mean, rstd, tx, tw, tb, EPS);
                 LayerNormBackwardLaunch bwd = LayerNormBackwardLaunch.prepare(k, dx, dw, db, ws, tg, tx, tw, mean,
                         rstd, accumulate, rowsOverride)) {
                fwd.launch(s);
                float[][] first = null;
                for (int run = 0; run < 2; run++) {
                    if (accumulate) GpuSupport.upload(host, dx, prefill, s);
                    else GpuSupport.poison(dev, dx, s);
                    for (Tensor t : new Tensor[] {dw, db, ws}) GpuSupport.poison(dev, t, s);
                    bwd.launch(s);
                    float[][] got = {GpuSupport.download(host, dx, s), GpuSupport.download(host, dw, s),
                            GpuSupport.download(host, db, s)};
                    if (run == 0) {
                        check("dx", got[0], rdx, sdx, dxType == BF16 ? BF16_TOL : F32_TOL, where);
                        check("dWeight", got[1], rdw, rdw, F32_TOL, where);
                        check("dBias", got[2], rdb, rdb, F32_TOL, where);
                        first = got;
                    } else {
                        assertArrayEquals(first[0], got[0], "dx not bit-identical on rerun, " + where);
                        assertArrayEquals(first[1], got[1], "dWeight not bit-identical on rerun, " + where);
                        assertArrayEquals(first[2], got[2], "dBias not bit-identical on rerun, " + where);
                    }
                }
            }
        }
    }

    private static void check(String what, float[] got, double[] ref, double[] scale, double tol, String where) {
        double e = GpuSupport.relError(got, ref, scale);
        assertTrue(e < tol, what + " relative error " + e + " >= " + tol + " (" + where + "); first values "
                + Arrays.toString(Arrays.copyOf(got, Math.min(4, got.length))) + " vs "
                + Arrays.toString(Arrays.copyOf(ref, Math.min(4, ref.length))));
    }
}
