package dev.mambaout.graph;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.ops.Activation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Forward ops of the f64 executor against naive loops written straight from the definitions (PyTorch's). */
class ForwardReferenceTest {
    private final Random rnd = new Random(42);
    private final CpuExecutor cpu = new CpuExecutor(Precision.F64);

    private double[] rand(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextGaussian();
        return v;
    }

    private static void close(double[] expected, double[] got, double rtol) {
        assertEquals(expected.length, got.length);
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], rtol * scale, "element " + i);
        }
    }

    @ParameterizedTest(name = "[{0},{1},{2},{3}] -> {4} k{5} s{6} p{7}")
    @CsvSource({"2,9,7,3,5,3,2,1", "1,6,5,4,3,5,2,2", "2,4,4,2,3,1,1,0"})
    void conv2d(int n, int h, int w, int ci, int co, int k, int s, int p) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", n, h, w, ci);
        Tensor wt = g.parameter("w", co, ci, k, k);
        Tensor b = g.parameter("b", co);
        Tensor y = g.output(g.conv2d(x, wt, b, s, p));
        double[] xv = rand(n * h * w * ci), wv = rand(co * ci * k * k), bv = rand(co);
        double[] got = cpu.run(g.build(), new Bindings().put(x, xv).put(wt, wv).put(b, bv)).doubles(y);
        int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        double[] ref = new double[n * ho * wo * co];
        for (int bn = 0; bn < n; bn++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int o = 0; o < co; o++) {
                        double acc = bv[o];
                        for (int i = 0; i < ci; i++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++) {
                                    int iy = oy * s - p + ky, ix = ox * s - p + kx;
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                        acc += xv[((bn * h + iy) * w + ix) * ci + i] * wv[((o * ci + i) * k + ky) * k + kx];
                                }
                        ref[((bn * ho + oy) * wo + ox) * co + o] = acc;
                    }
        close(ref, got, 1e-13);
    }

    @ParameterizedTest(name = "{0} hidden {1} conv {2} k{3}")
    @CsvSource({"GELU,7,3,3", "SILU,5,5,5", "GELU,6,1,7"})
    void gatedDwConv(Activation act, int hidden, int cc, int k) {
        int n = 2, h = 5, w = 6;
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", n, h, w, 2 * hidden);
        Tensor wt = g.parameter("w", cc, 1, k, k);
        Tensor b = g.parameter("b", cc);
        Tensor y = g.output(g.gatedDwConv(x, wt, b, act));
        double[] xv = rand(n * h * w * 2 * hidden), wv = rand(cc * k * k), bv = rand(cc);
        double[] got = cpu.run(g.build(), new Bindings().put(x, xv).put(wt, wv).put(b, bv)).doubles(y);
        double[] ref = new double[n * h * w * hidden];
        int pad = k / 2;
        for (int bn = 0; bn < n; bn++)
            for (int py = 0; py < h; py++)
                for (int px = 0; px < w; px++) {
                    int pix = (bn * h + py) * w + px;
                    double[] cat = new double[hidden];
                    for (int j = 0; j < hidden - cc; j++) cat[j] = xv[pix * 2 * hidden + hidden + j];
                    for (int c = 0; c < cc; c++) {
                        double acc = bv[c];
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int sy = py + ky - pad, sx = px + kx - pad;
                                if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                                acc += xv[((bn * h + sy) * w + sx) * 2 * hidden + 2 * hidden - cc + c] * wv[(c * k + ky) * k + kx];
                            }
                        cat[hidden - cc + c] = acc;
                    }
                    for (int j = 0; j < hidden; j++) {
                        double gt = xv[pix * 2 * hidden + j];
                        double a = act == Activation.SILU ? gt / (1 + Math.exp(-gt)) : gelu(gt);
                        ref[pix * hidden + j] = a * cat[j];
                    }
                }
        close(ref, got, 1e-13);
    }

    /** GELU from the standard normal CDF, Phi(x) = erfc(-x/sqrt2)/2, via Simpson integration of the density. */
    private static double gelu(double x) {
        int steps = 20000;
        double lo = -12, hi = x, hstep = (hi - lo) / steps, sum = 0;
        for (int i = 0; i <= steps; i++) {
            double t = lo + i * hstep;
            double f = Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
            sum += f * (i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2));
        }
        return x * sum * hstep / 3;
    }

    @Test
    void activationsAgainstKnownValues() {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", 5);
        Tensor ge = g.output(g.gelu(x));
        Tensor si = g.output(g.silu(x));
        double[] xv = {1.0, -0.5, 2.0, -3.0, 0.0};
        var r = cpu.run(g.build(), new Bindings().put(x, xv));
        // x * Phi(x), Phi from tables: Phi(1) = 0.8413447460685429, Phi(-0.5) = 0.3085375387259869,
        // Phi(2) = 0.9772498680518208, Phi(-3) = 0.0013498980316300946.
        double[] gelu = {0.8413447460685429, -0.5 * 0.3085375387259869, 2 * 0.9772498680518208, -3 * 0.0013498980316300946, 0};
        for (int i = 0; i < 5; i++) assertEquals(gelu[i], r.doubles(ge)[i], 1e-15, "gelu(" + xv[i] + ")");
        for (int i = 0; i < 5; i++) assertEquals(xv[i] / (1 + Math.exp(-xv[i])), r.doubles(si)[i], 1e-15, "silu(" + xv[i] + ")");
        assertEquals(gelu(0.7), cpu.run(g.build(), new Bindings().put(x, new double[]{0.7, 0, 0, 0, 0})).doubles(ge)[0], 1e-12);
    }

    @Test
    void layerNormLinearLayerScaleMeanPermute() {
        int n = 2, c = 3, h = 5, w = 7, o = 4;
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", n, c, h, w);
        Tensor lw = g.parameter("ln.w", c), lb = g.parameter("ln.b", c);
        Tensor fw = g.parameter("fc.w", o, c), fb = g.parameter("fc.b", o);
        Tensor gamma = g.parameter("gamma", o);
        Tensor nhwc = g.output(g.nchwToNhwc(x));
        Tensor ln = g.output(g.layerNorm(nhwc, lw, lb, 1e-6));
        Tensor fc = g.output(g.linear(ln, fw, fb));
        Tensor ls = g.output(g.layerScale(fc, gamma));
        Tensor mean = g.output(g.meanHW(ls));
        double[] xv = rand(n * c * h * w), lwv = rand(c), lbv = rand(c), fwv = rand(o * c), fbv = rand(o), gv = rand(o);
        var r = cpu.run(g.build(), new Bindings().put(x, xv).put(lw, lwv).put(lb, lbv).put(fw, fwv).put(fb, fbv).put(gamma, gv));

        double[] rp = new double[n * h * w * c], rl = new double[n * h * w * c], rf = new double[n * h * w * o],
                rs = new double[n * h * w * o], rm = new double[n * o];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    int pix = (b * h + y) * w + xx;
                    for (int ch = 0; ch < c; ch++) rp[pix * c + ch] = xv[((b * c + ch) * h + y) * w + xx];
                    double mu = 0, var = 0;
                    for (int ch = 0; ch < c; ch++) mu += rp[pix * c + ch] / c;
                    for (int ch = 0; ch < c; ch++) var += (rp[pix * c + ch] - mu) * (rp[pix * c + ch] - mu) / c;
                    for (int ch = 0; ch < c; ch++) rl[pix * c + ch] = (rp[pix * c + ch] - mu) / Math.sqrt(var + 1e-6) * lwv[ch] + lbv[ch];
                    for (int q = 0; q < o; q++) {
                        double acc = fbv[q];
                        for (int ch = 0; ch < c; ch++) acc += rl[pix * c + ch] * fwv[q * c + ch];
                        rf[pix * o + q] = acc;
                        rs[pix * o + q] = acc * gv[q];
                        rm[b * o + q] += rs[pix * o + q] / (h * w);
                    }
                }
        close(rp, r.doubles(nhwc), 0);
        close(rl, r.doubles(ln), 1e-13);
        close(rf, r.doubles(fc), 1e-13);
        close(rs, r.doubles(ls), 1e-13);
        close(rm, r.doubles(mean), 1e-13);
    }

    @ParameterizedTest(name = "smoothing {0}")
    @CsvSource({"0.0", "0.1", "0.35"})
    void crossEntropy(double s) {
        int n = 4, k = 6;
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor logits = g.input("logits", n, k);
        Tensor labels = g.labels("labels", n);
        Tensor loss = g.output(g.crossEntropy(logits, labels, s));
        double[] lv = rand(n * k);
        for (int i = 0; i < lv.length; i++) lv[i] *= 3;
        int[] y = {0, 5, 2, 2};
        double got = cpu.run(g.build(), new Bindings().put(logits, lv).putLabels(labels, y)).scalar(loss);
        double ref = 0;
        for (int b = 0; b < n; b++) {
            double z = 0;
            for (int j = 0; j < k; j++) z += Math.exp(lv[b * k + j]);
            for (int j = 0; j < k; j++) {
                double q = (j == y[b] ? 1 - s : 0) + s / k;
                ref -= q * Math.log(Math.exp(lv[b * k + j]) / z) / n;
            }
        }
        assertEquals(ref, got, 1e-13 * Math.abs(ref));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cpu.run(g.build(), new Bindings().put(logits, lv).putLabels(labels, new int[]{0, 6, 1, 1})));
        assertTrue(e.getMessage().contains("labels[1] = 6"), e.getMessage());
    }
}
