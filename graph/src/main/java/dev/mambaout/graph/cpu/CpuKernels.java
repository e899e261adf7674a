package dev.mambaout.graph.cpu;

import dev.mambaout.graph.ops.Activation;

/**
 * The arithmetic of every op on double arrays, NHWC, weights in PyTorch layouts. Loops are arranged so the innermost
 * one runs over a contiguous output row without a reduction (axpy form), which the JIT vectorizes; weights are
 * transposed once per call to make that possible. Parallel loops split over rows or output channels and each output
 * element is summed in a fixed order, so results do not depend on the number of threads.
 */
final class CpuKernels {
    private CpuKernels() {}

    private static final double INV_SQRT2 = 0.7071067811865476;
    private static final double INV_SQRT_2PI = 0.3989422804014327;

    // ---- layout ------------------------------------------------------------------------------------------------

    static void nchwToNhwc(double[] x, double[] y, int n, int c, int h, int w) {
        Par.forEach(n * h, r -> {
            int b = r / h, iy = r % h;
            for (int ix = 0; ix < w; ix++) {
                int o = ((b * h + iy) * w + ix) * c;
                for (int ch = 0; ch < c; ch++) y[o + ch] = x[((b * c + ch) * h + iy) * w + ix];
            }
        });
    }

    static void nhwcToNchw(double[] x, double[] y, int n, int h, int w, int c) {
        Par.forEach(n * c, r -> {
            int b = r / c, ch = r % c;
            int o = r * h * w;
            for (int p = 0; p < h * w; p++) y[o + p] = x[(b * h * w + p) * c + ch];
        });
    }

    // ---- dense conv --------------------------------------------------------------------------------------------

    /** x [n,h,w,ci], weight [co,ci,k,k] -> y [n,ho,wo,co]. */
    static void conv2d(double[] x, double[] wgt, double[] bias, double[] y,
                       int n, int h, int w, int ci, int co, int k, int s, int p, int ho, int wo) {
        double[] wt = new double[k * k * ci * co]; // [ky][kx][ci][co]
        for (int o = 0; o < co; o++)
            for (int i = 0; i < ci; i++)
                for (int t = 0; t < k * k; t++) wt[(t * ci + i) * co + o] = wgt[(o * ci + i) * k * k + t];
        Par.forEach(n * ho, r -> {
            int b = r / ho, oy = r % ho;
            for (int ox = 0; ox < wo; ox++) {
                int yo = (r * wo + ox) * co;
                System.arraycopy(bias, 0, y, yo, co);
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * s - p + kx;
                        if (ix < 0 || ix >= w) continue;
                        int xo = ((b * h + iy) * w + ix) * ci;
                        int wo0 = (ky * k + kx) * ci * co;
                        for (int i = 0; i < ci; i++) {
                            double a = x[xo + i];
                            int wr = wo0 + i * co;
                            for (int o = 0; o < co; o++) y[yo + o] += a * wt[wr + o];
                        }
                    }
                }
            }
        });
    }

    /** dy [n,ho,wo,co], weight [co,ci,k,k] -> dx [n,h,w,ci]; gathers per input pixel so rows never collide. */
    static void conv2dBackwardInput(double[] dy, double[] wgt, double[] dx,
                                    int n, int h, int w, int ci, int co, int k, int s, int p, int ho, int wo) {
        double[] wk = new double[k * k * co * ci]; // [ky][kx][co][ci]
        for (int o = 0; o < co; o++)
            for (int i = 0; i < ci; i++)
                for (int t = 0; t < k * k; t++) wk[(t * co + o) * ci + i] = wgt[(o * ci + i) * k * k + t];
        Par.forEach(n * h, r -> {
            int b = r / h, iy = r % h;
            for (int ix = 0; ix < w; ix++) {
                int xo = (r * w + ix) * ci;
                java.util.Arrays.fill(dx, xo, xo + ci, 0.0);
                for (int ky = 0; ky < k; ky++) {
                    int ty = iy + p - ky;
                    if (ty < 0 || ty % s != 0 || ty / s >= ho) continue;
                    int oy = ty / s;
                    for (int kx = 0; kx < k; kx++) {
                        int tx = ix + p - kx;
                        if (tx < 0 || tx % s != 0 || tx / s >= wo) continue;
                        int ox = tx / s;
                        int dyo = ((b * ho + oy) * wo + ox) * co;
                        int wo0 = (ky * k + kx) * co * ci;
                        for (int o = 0; o < co; o++) {
                            double a = dy[dyo + o];
                            int wr = wo0 + o * ci;
                            for (int i = 0; i < ci; i++) dx[xo + i] += a * wk[wr + i];
                        }
                    }
                }
            }
        });
    }

    /** x [n,h,w,ci], dy [n,ho,wo,co] -> dWeight [co,ci,k,k], dBias [co]; parallel over output channels. */
    static void conv2dBackwardWeight(double[] x, double[] dy, double[] dWeight, double[] dBias,
                                     int n, int h, int w, int ci, int co, int k, int s, int p, int ho, int wo) {
        Par.forEach(co, o -> {
            double[] acc = new double[k * k * ci]; // [ky][kx][ci]
            double db = 0;
            for (int b = 0; b < n; b++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++) {
                        double a = dy[((b * ho + oy) * wo + ox) * co + o];
                        db += a;
                        for (int ky = 0; ky < k; ky++) {
                            int iy = oy * s - p + ky;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < k; kx++) {
                                int ix = ox * s - p + kx;
                                if (ix < 0 || ix >= w) continue;
                                int xo = ((b * h + iy) * w + ix) * ci;
                                int ao = (ky * k + kx) * ci;
                                for (int i = 0; i < ci; i++) acc[ao + i] += a * x[xo + i];
                            }
                        }
                    }
            dBias[o] = db;
            for (int i = 0; i < ci; i++)
                for (int t = 0; t < k * k; t++) dWeight[(o * ci + i) * k * k + t] = acc[t * ci + i];
        });
    }

    // ---- layer norm --------------------------------------------------------------------------------------------

    private static double rowMean(double[] x, int o, int c) {
        double mean = 0;
        for (int j = 0; j < c; j++) mean += x[o + j];
        return mean / c;
    }

    /** 1 / sqrt(biased variance + eps), as PyTorch's LayerNorm; the backward recomputes it rather than storing it. */
    private static double rowRstd(double[] x, int o, int c, double mean, double eps) {
        double var = 0;
        for (int j = 0; j < c; j++) {
            double d = x[o + j] - mean;
            var += d * d;
        }
        return 1.0 / Math.sqrt(var / c + eps);
    }

    static void layerNorm(double[] x, double[] wgt, double[] bias, double eps, double[] y, int rows, int c) {
        Par.forEach(chunks(rows), ch -> {
            for (int r = from(ch, rows); r < to(ch, rows); r++) {
                int o = r * c;
                double mean = rowMean(x, o, c);
                double rstd = rowRstd(x, o, c, mean, eps);
                for (int j = 0; j < c; j++) y[o + j] = (x[o + j] - mean) * rstd * wgt[j] + bias[j];
            }
        });
    }

    /**
     * With xhat = (x - mean) * rstd and g = dy * weight: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
     * dWeight = sum over rows of dy * xhat, dBias = sum over rows of dy.
     */
    static void layerNormBackward(double[] x, double[] wgt, double[] dy, double eps,
                                  double[] dx, double[] dWeight, double[] dBias, int rows, int c) {
        double[] sums = Par.reduce(rows, 2 * c, (from, to, acc) -> {
            double[] xhat = new double[c];
            for (int r = from; r < to; r++) {
                int o = r * c;
                double mean = rowMean(x, o, c);
                double rstd = rowRstd(x, o, c, mean, eps);
                double mg = 0, mgx = 0;
                for (int j = 0; j < c; j++) {
                    xhat[j] = (x[o + j] - mean) * rstd;
                    double g = dy[o + j] * wgt[j];
                    mg += g;
                    mgx += g * xhat[j];
                }
                mg /= c;
                mgx /= c;
                for (int j = 0; j < c; j++) {
                    dx[o + j] = rstd * (dy[o + j] * wgt[j] - mg - xhat[j] * mgx);
                    acc[j] += dy[o + j] * xhat[j];
                    acc[c + j] += dy[o + j];
                }
            }
        });
        System.arraycopy(sums, 0, dWeight, 0, c);
        System.arraycopy(sums, c, dBias, 0, c);
    }

    // ---- linear ------------------------------------------------------------------------------------------------

    /** x [rows,in], weight [out,in] -> y [rows,out]. */
    static void linear(double[] x, double[] wgt, double[] bias, double[] y, int rows, int in, int out) {
        double[] wt = transpose(wgt, out, in); // [in][out]
        Par.forEach(chunks(rows), ch -> {
            for (int r = from(ch, rows); r < to(ch, rows); r++) {
                int yo = r * out, xo = r * in;
                System.arraycopy(bias, 0, y, yo, out);
                for (int i = 0; i < in; i++) {
                    double a = x[xo + i];
                    int wr = i * out;
                    for (int o = 0; o < out; o++) y[yo + o] += a * wt[wr + o];
                }
            }
        });
    }

    /** dy [rows,out], weight [out,in] -> dx [rows,in]. */
    static void linearBackwardInput(double[] dy, double[] wgt, double[] dx, int rows, int in, int out) {
        Par.forEach(chunks(rows), ch -> {
            for (int r = from(ch, rows); r < to(ch, rows); r++) {
                int xo = r * in, yo = r * out;
                java.util.Arrays.fill(dx, xo, xo + in, 0.0);
                for (int o = 0; o < out; o++) {
                    double a = dy[yo + o];
                    int wr = o * in;
                    for (int i = 0; i < in; i++) dx[xo + i] += a * wgt[wr + i];
                }
            }
        });
    }

    /**
     * dWeight [out,in] = dy^T x, dBias = column sums of dy. Parallel over blocks of output rows; rows of x are
     * visited in tiles small enough to stay in cache while every output row of the block consumes them.
     */
    static void linearBackwardWeight(double[] x, double[] dy, double[] dWeight, double[] dBias, int rows, int in, int out) {
        int block = 8;
        int tile = Math.max(1, 16384 / in);
        Par.forEach((out + block - 1) / block, bo -> {
            int o0 = bo * block, o1 = Math.min(out, o0 + block);
            java.util.Arrays.fill(dWeight, o0 * in, o1 * in, 0.0);
            for (int o = o0; o < o1; o++) dBias[o] = 0;
            for (int r0 = 0; r0 < rows; r0 += tile) {
                int r1 = Math.min(rows, r0 + tile);
                for (int o = o0; o < o1; o++) {
                    int wr = o * in;
                    double db = 0;
                    for (int r = r0; r < r1; r++) {
                        double a = dy[r * out + o];
                        db += a;
                        int xo = r * in;
                        for (int i = 0; i < in; i++) dWeight[wr + i] += a * x[xo + i];
                    }
                    dBias[o] += db;
                }
            }
        });
    }

    // ---- gated depthwise conv ----------------------------------------------------------------------------------

    /**
     * x [n,h,w,2*hid] = (g | i | cv), cv the last cc channels; y [n,h,w,hid] = act(g) * cat(i, dwconv(cv)).
     * Element j of cat(i, conv) sits over channel hid + j of x in both halves, which the loops exploit.
     */
    static void gatedDwConv(double[] x, double[] wgt, double[] bias, Activation act, double[] y,
                            int n, int h, int w, int hid, int cc, int k) {
        int cx = 2 * hid, plain = hid - cc;
        double[] wt = depthwiseTaps(wgt, cc, k);
        Par.forEach(n * h, r -> {
            double[] conv = new double[cc];
            int b = r / h, py = r % h;
            for (int px = 0; px < w; px++) {
                int xo = (r * w + px) * cx, yo = (r * w + px) * hid;
                dwconvAt(x, wt, bias, conv, b, py, px, h, w, cx, cx - cc, cc, k);
                for (int j = 0; j < hid; j++) {
                    double u = j < plain ? x[xo + hid + j] : conv[j - plain];
                    y[yo + j] = act(act, x[xo + j]) * u;
                }
            }
        });
    }

    /**
     * Gradients of the gated conv. du = dy * act(g) flows to i directly and through the conv to cv; dg = dy * u *
     * act'(g). Three passes: per pixel (dg, di and the conv's output gradient, kept in dconv), a gather for dcv
     * (no write collisions), and a chunked reduction for the taps and bias.
     */
    static void gatedDwConvBackward(double[] x, double[] wgt, double[] bias, double[] dy, Activation act,
                                    double[] dx, double[] dWeight, double[] dBias,
                                    int n, int h, int w, int hid, int cc, int k) {
        int cx = 2 * hid, plain = hid - cc, cvOff = cx - cc, pad = k / 2;
        double[] wt = depthwiseTaps(wgt, cc, k);
        double[] dconv = new double[n * h * w * cc];
        Par.forEach(n * h, r -> {
            double[] conv = new double[cc];
            int b = r / h, py = r % h;
            for (int px = 0; px < w; px++) {
                int pix = r * w + px, xo = pix * cx, yo = pix * hid;
                dwconvAt(x, wt, bias, conv, b, py, px, h, w, cx, cvOff, cc, k);
                for (int j = 0; j < hid; j++) {
                    double g = x[xo + j], d = dy[yo + j];
                    double u = j < plain ? x[xo + hid + j] : conv[j - plain];
                    dx[xo + j] = d * u * actGrad(act, g);
                    double du = d * act(act, g);
                    if (j < plain) dx[xo + hid + j] = du;
                    else dconv[pix * cc + j - plain] = du;
                }
            }
        });
        Par.forEach(n * h, r -> {
            int b = r / h, py = r % h;
            for (int px = 0; px < w; px++) {
                int xo = (r * w + px) * cx + cvOff;
                java.util.Arrays.fill(dx, xo, xo + cc, 0.0);
                for (int ky = 0; ky < k; ky++) {
                    int sy = py + pad - ky;
                    if (sy < 0 || sy >= h) continue;
                    for (int kx = 0; kx < k; kx++) {
                        int sx = px + pad - kx;
                        if (sx < 0 || sx >= w) continue;
                        int so = ((b * h + sy) * w + sx) * cc, to = (ky * k + kx) * cc;
                        for (int c = 0; c < cc; c++) dx[xo + c] += dconv[so + c] * wt[to + c];
                    }
                }
            }
        });
        int taps = k * k;
        double[] sums = Par.reduce(n * h, (taps + 1) * cc, (from, to, acc) -> {
            for (int r = from; r < to; r++) {
                int b = r / h, py = r % h;
                for (int px = 0; px < w; px++) {
                    int go = (r * w + px) * cc;
                    for (int c = 0; c < cc; c++) acc[taps * cc + c] += dconv[go + c];
                    for (int ky = 0; ky < k; ky++) {
                        int sy = py - pad + ky;
                        if (sy < 0 || sy >= h) continue;
                        for (int kx = 0; kx < k; kx++) {
                            int sx = px - pad + kx;
                            if (sx < 0 || sx >= w) continue;
                            int so = ((b * h + sy) * w + sx) * cx + cvOff, ao = (ky * k + kx) * cc;
                            for (int c = 0; c < cc; c++) acc[ao + c] += dconv[go + c] * x[so + c];
                        }
                    }
                }
            }
        });
        for (int c = 0; c < cc; c++) {
            dBias[c] = sums[taps * cc + c];
            for (int t = 0; t < taps; t++) dWeight[c * taps + t] = sums[t * cc + c];
        }
    }

    /** Depthwise weight [cc,1,k,k] as [ky][kx][cc], so the channel loop is contiguous. */
    private static double[] depthwiseTaps(double[] wgt, int cc, int k) {
        double[] wt = new double[k * k * cc];
        for (int c = 0; c < cc; c++)
            for (int t = 0; t < k * k; t++) wt[t * cc + c] = wgt[c * k * k + t];
        return wt;
    }

    private static void dwconvAt(double[] x, double[] wt, double[] bias, double[] conv, int b, int py, int px,
                                 int h, int w, int cx, int cvOff, int cc, int k) {
        int pad = k / 2;
        System.arraycopy(bias, 0, conv, 0, cc);
        for (int ky = 0; ky < k; ky++) {
            int sy = py - pad + ky;
            if (sy < 0 || sy >= h) continue;
            for (int kx = 0; kx < k; kx++) {
                int sx = px - pad + kx;
                if (sx < 0 || sx >= w) continue;
                int so = ((b * h + sy) * w + sx) * cx + cvOff, to = (ky * k + kx) * cc;
                for (int c = 0; c < cc; c++) conv[c] += x[so + c] * wt[to + c];
            }
        }
    }

    // ---- pointwise ---------------------------------------------------------------------------------------------

    static double act(Activation a, double x) {
        return switch (a) {
            case GELU -> 0.5 * x * (1.0 + Erf.erf(x * INV_SQRT2));
            case SILU -> x / (1.0 + Math.exp(-x));
        };
    }

    static double actGrad(Activation a, double x) {
        return switch (a) {
            case GELU -> 0.5 * (1.0 + Erf.erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
            case SILU -> {
                double sg = 1.0 / (1.0 + Math.exp(-x));
                yield sg * (1.0 + x * (1.0 - sg));
            }
        };
    }

    static void activation(double[] x, Activation a, double[] y) {
        int n = x.length;
        Par.forEach(chunks(n), ch -> {
            for (int i = from(ch, n); i < to(ch, n); i++) y[i] = act(a, x[i]);
        });
    }

    static void activationBackward(double[] x, double[] dy, Activation a, double[] dx) {
        int n = x.length;
        Par.forEach(chunks(n), ch -> {
            for (int i = from(ch, n); i < to(ch, n); i++) dx[i] = dy[i] * actGrad(a, x[i]);
        });
    }

    static void layerScale(double[] x, double[] gamma, double[] y, int rows, int c) {
        Par.forEach(chunks(rows), ch -> {
            for (int r = from(ch, rows); r < to(ch, rows); r++)
                for (int j = 0; j < c; j++) y[r * c + j] = x[r * c + j] * gamma[j];
        });
    }

    static void layerScaleBackward(double[] x, double[] gamma, double[] dy, double[] dx, double[] dGamma, int rows, int c) {
        double[] s = Par.reduce(rows, c, (from, to, acc) -> {
            for (int r = from; r < to; r++)
                for (int j = 0; j < c; j++) {
                    dx[r * c + j] = dy[r * c + j] * gamma[j];
                    acc[j] += dy[r * c + j] * x[r * c + j];
                }
        });
        System.arraycopy(s, 0, dGamma, 0, c);
    }

    /** y[n, ...] = x[n, ...] * scale[n] over samples of x.length / scale.length elements each. */
    static void scaleSamples(double[] x, double[] y, double[] scale) {
        int per = x.length / scale.length;
        for (int n = 0; n < scale.length; n++) {
            double s = scale[n];
            for (int i = n * per, e = i + per; i < e; i++) y[i] = x[i] * s;
        }
    }

    static void add(double[] a, double[] b, double[] y) {
        int n = a.length;
        Par.forEach(chunks(n), ch -> {
            for (int i = from(ch, n); i < to(ch, n); i++) y[i] = a[i] + b[i];
        });
    }

    static void meanHW(double[] x, double[] y, int n, int hw, int c) {
        Par.forEach(n, b -> {
            int yo = b * c;
            java.util.Arrays.fill(y, yo, yo + c, 0.0);
            for (int p = 0; p < hw; p++) {
                int xo = (b * hw + p) * c;
                for (int j = 0; j < c; j++) y[yo + j] += x[xo + j];
            }
            for (int j = 0; j < c; j++) y[yo + j] /= hw;
        });
    }

    static void meanHWBackward(double[] dy, double[] dx, int n, int hw, int c) {
        Par.forEach(n * hw, r -> {
            int b = r / hw;
            for (int j = 0; j < c; j++) dx[r * c + j] = dy[b * c + j] / hw;
        });
    }

    // ---- loss --------------------------------------------------------------------------------------------------

    /** Mean over n of -(1-s) logp[label] - (s/K) sum_k logp[k]; PyTorch's cross_entropy with label_smoothing. */
    static double crossEntropy(double[] logits, int[] labels, double s, int n, int classes) {
        double total = 0;
        for (int b = 0; b < n; b++) {
            int o = b * classes;
            double lse = logSumExp(logits, o, classes);
            double sumLogp = 0;
            for (int k = 0; k < classes; k++) sumLogp += logits[o + k] - lse;
            total += -(1 - s) * (logits[o + labels[b]] - lse) - s / classes * sumLogp;
        }
        return total / n;
    }

    static void crossEntropyBackward(double[] logits, int[] labels, double dLoss, double s, double[] dLogits, int n, int classes) {
        for (int b = 0; b < n; b++) {
            int o = b * classes;
            double lse = logSumExp(logits, o, classes);
            for (int k = 0; k < classes; k++) {
                double q = s / classes + (k == labels[b] ? 1 - s : 0);
                dLogits[o + k] = dLoss * (Math.exp(logits[o + k] - lse) - q) / n;
            }
        }
    }

    private static double logSumExp(double[] v, int o, int len) {
        double m = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < len; k++) m = Math.max(m, v[o + k]);
        double s = 0;
        for (int k = 0; k < len; k++) s += Math.exp(v[o + k] - m);
        return m + Math.log(s);
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    /** Work items are split into at most 64 contiguous chunks: enough for load balance, few enough to be cheap. */
    private static int chunks(int items) {
        return Math.max(1, Math.min(items, 64));
    }

    private static int from(int chunk, int items) {
        return (int) ((long) chunk * items / chunks(items));
    }

    private static int to(int chunk, int items) {
        return (int) ((long) (chunk + 1) * items / chunks(items));
    }
}
