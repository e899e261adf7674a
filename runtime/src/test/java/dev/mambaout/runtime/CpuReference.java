package dev.mambaout.runtime;

import dev.mambaout.graph.Autodiff;
import dev.mambaout.graph.DType;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.GraphBuilder;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.TrainingGraph;
import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.ops.ActBackward;
import dev.mambaout.graph.ops.Activation;

/**
 * CPU references of the im2col, col2im, act (forward and backward), stem and head kernels: one-op graphs on the float64
 * CpuExecutor (a backward op read off an Autodiff graph), im2col as the plain gather its definition states (row
 * (n*Ho + oy)*Wo + ox, column (ky*k + kx)*C + c, zeros outside and past k*k*C) and col2im as its adjoint.
 */
final class CpuReference {

    private CpuReference() {}

    static float[] im2colNhwc(float[] x, int n, int h, int w, int c, int k, int s, int p, int colStride) {
        return im2col(x, n, h, w, c, k, s, p, colStride, false);
    }

    static float[] im2colNchw(float[] x, int n, int c, int h, int w, int k, int s, int p, int colStride) {
        return im2col(x, n, h, w, c, k, s, p, colStride, true);
    }

    private static float[] im2col(float[] x, int n, int h, int w, int c, int k, int s, int p, int colStride,
                                  boolean nchw) {
        int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        float[] col = new float[n * ho * wo * colStride];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                            for (int ch = 0; ch < c; ch++) {
                                int iy = oy * s - p + ky, ix = ox * s - p + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                int src = nchw ? ((b * c + ch) * h + iy) * w + ix : ((b * h + iy) * w + ix) * c + ch;
                                col[((b * ho + oy) * wo + ox) * colStride + (ky * k + kx) * c + ch] = x[src];
                            }
        return col;
    }

    /** Conv2d of x NHWC [n,h,w,cin] with a PyTorch weight [cout,cin,k,k] and bias, in float64. */
    static double[] conv2d(float[] x, int n, int h, int w, int cin, float[] weight, float[] bias, int cout, int k,
                           int stride, int padding) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("x", n, h, w, cin);
        Tensor tw = g.parameter("w", cout, cin, k, k), tb = g.parameter("b", cout);
        Tensor out = g.output(g.conv2d(tx, tw, tb, stride, padding));
        return run(g.build(), out, new Bindings().put(tx, x).put(tw, weight).put(tb, bias));
    }

    /**
     * The stem's first conv as the graph builds it, in float64: x NCHW [n,cin,h,w] -> NhwcOf -> conv(k, stride,
     * padding) -> LayerNorm over the channels (when gamma is not null) -> act, NHWC out.
     */
    static double[] stem(float[] x, int n, int cin, int h, int w, float[] weight, float[] bias, float[] gamma,
                         float[] beta, int cout, int k, int stride, int padding, double eps, Activation act) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("x", n, cin, h, w);
        Tensor tw = g.parameter("w", cout, cin, k, k), tb = g.parameter("b", cout);
        Tensor t = g.conv2d(g.nchwToNhwc(tx), tw, tb, stride, padding);
        Bindings b = new Bindings().put(tx, x).put(tw, weight).put(tb, bias);
        if (gamma != null) {
            Tensor tg = g.parameter("g", cout), tbe = g.parameter("be", cout);
            t = g.layerNorm(t, tg, tbe, eps);
            b.put(tg, gamma).put(tbe, beta);
        }
        Tensor out = g.output(g.activation(t, act));
        return run(g.build(), out, b);
    }

    /** LayerNorm over the last dimension of x [t, k], then a Linear to n outputs (W [n, k]), as the graph builds it. */
    static double[] layerNormLinear(float[] x, int t, int k, float[] gamma, float[] beta, double eps, float[] w,
                                    float[] bias, int n) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("x", t, k);
        Tensor tg = g.parameter("g", k), tb = g.parameter("be", k), tw = g.parameter("w", n, k), tbias = g.parameter("b", n);
        Tensor out = g.output(g.linear(g.layerNorm(tx, tg, tb, eps), tw, tbias));
        return run(g.build(), out, new Bindings().put(tx, x).put(tg, gamma).put(tb, beta).put(tw, w).put(tbias, bias));
    }

    static double[] activation(float[] x, Activation act) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("x", x.length);
        Tensor out = g.output(g.activation(tx, act));
        return run(g.build(), out, new Bindings().put(tx, x));
    }

    /** MeanHW then LayerNorm over C: x NHWC [n,h,w,c] -> [n,c]. */
    static double[] meanHwLayerNorm(float[] x, int n, int h, int w, int c, float[] weight, float[] bias, double eps) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("x", n, h, w, c);
        Tensor tw = g.parameter("w", c), tb = g.parameter("b", c);
        Tensor out = g.output(g.layerNorm(g.meanHW(tx), tw, tb, eps));
        return run(g.build(), out, new Bindings().put(tx, x).put(tw, weight).put(tb, bias));
    }

    /** Graph's CrossEntropy (mean over the batch) and its gradient, and each row's loss alone. */
    record CrossEntropyRef(double mean, double[] rowLoss, double[] dLogits) {}

    /**
     * CrossEntropy of logits [n,k] against labels with label smoothing s on the float64 CpuExecutor: the mean and
     * dLogits (Autodiff's CrossEntropyBackward with dLoss = 1) from one graph of the batch, each row's loss from a
     * one-row graph (the op itself only gives the mean).
     */
    static CrossEntropyRef crossEntropy(float[] logits, int[] labels, int n, int k, double s) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("logits", n, k);
        Tensor ty = g.labels("labels", n);
        Tensor loss = g.output(g.crossEntropy(tx, ty, s));
        TrainingGraph tg = Autodiff.training(g.build(), loss);
        var r = new CpuExecutor(Precision.F64).run(tg.graph(), new Bindings().put(tx, logits).putLabels(ty, labels));
        double mean = r.doubles(tg.loss())[0];
        double[] d = r.doubles(tg.gradient(tx));
        double[] rows = new double[n];
        for (int b = 0; b < n; b++) {
            GraphBuilder g1 = new GraphBuilder(DType.F64);
            Tensor x1 = g1.input("logits", 1, k);
            Tensor y1 = g1.labels("labels", 1);
            Tensor l1 = g1.output(g1.crossEntropy(x1, y1, s));
            float[] row = java.util.Arrays.copyOfRange(logits, b * k, (b + 1) * k);
            rows[b] = run(g1.build(), l1, new Bindings().put(x1, row).putLabels(y1, new int[] {labels[b]}))[0];
        }
        return new CrossEntropyRef(mean, rows, d);
    }

    /**
     * MeanHWBackward as its op states it (graph's CpuKernels.meanHWBackward, which the builder only emits from
     * Autodiff): dx[n, hw, c] = dy[n, c] / hw, in float64.
     */
    static double[] meanHwBackward(float[] dy, int n, int hw, int c) {
        double[] dx = new double[n * hw * c];
        for (int r = 0; r < n * hw; r++)
            for (int j = 0; j < c; j++) dx[r * c + j] = (double) dy[r / hw * c + j] / hw;
        return dx;
    }

    /** col2im's result: dx in float64 and, per dx element, how many columns added into it (0: the conv never read it). */
    record Col2im(double[] dx, int[] taps) {}

    /**
     * col2im as the adjoint of {@link #im2colNhwc}'s gather: column (ky*k + kx)*C + c of row (b*Ho + oy)*Wo + ox
     * adds into dx[b, oy*s - p + ky, ox*s - p + kx, c] when that lies in the image; columns past k*k*C are ignored.
     * Col2imReferenceTest checks it against graph's Conv2dBackwardInput.
     */
    static Col2im col2imNhwc(float[] dcol, int n, int h, int w, int c, int k, int s, int p, int colStride) {
        int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        double[] dx = new double[n * h * w * c];
        int[] taps = new int[dx.length];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s - p + ky, ix = ox * s - p + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            for (int ch = 0; ch < c; ch++) {
                                int d = ((b * h + iy) * w + ix) * c + ch;
                                dx[d] += dcol[((b * ho + oy) * wo + ox) * colStride + (ky * k + kx) * c + ch];
                                taps[d]++;
                            }
                        }
        return new Col2im(dx, taps);
    }

    /** graph's ActBackward, dx = dy * act'(x), in float64 (act' from {@link #actGrad}). */
    static double[] actBackward(float[] x, float[] dy, Activation act) {
        double[] g = actGrad(x, act);
        for (int i = 0; i < g.length; i++) g[i] *= dy[i];
        return g;
    }

    /**
     * act'(x) exactly as graph's ActBackward computes it, read off the float64 CpuExecutor (the builder only emits
     * backward ops from Autodiff): loss = CE(linear(act(x [1, n]), W, 0), label 0) with W's row 0 zero and row 1 a
     * constant a, so the gradient reaching act's output is the same nonzero g = softmax_1 * a everywhere, and the
     * ActBackward op's dx / dy is act'(x). a keeps the logit within [-1, 1] (|act(x)| <= |x| for GELU and SiLU), so
     * g is not small.
     */
    static double[] actGrad(float[] x, Activation act) {
        int n = x.length;
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("x", 1, n);
        Tensor tw = g.parameter("w", 2, n), tb = g.parameter("b", 2);
        Tensor ty = g.labels("y", 1);
        Tensor loss = g.output(g.crossEntropy(g.linear(g.activation(tx, act), tw, tb), ty, 0));
        TrainingGraph tg = Autodiff.training(g.build(), loss);
        ActBackward op = tg.graph().ops().stream().filter(o -> o instanceof ActBackward).map(o -> (ActBackward) o)
                .findFirst().orElseThrow();
        GraphBuilder probe = GraphBuilder.extending(tg.graph());
        probe.output(op.dy());
        probe.output(op.dx());
        double sumAbs = 1;
        for (float v : x) sumAbs += Math.abs(v);
        double[] w = new double[2 * n];
        java.util.Arrays.fill(w, n, 2 * n, 1 / sumAbs);
        var r = new CpuExecutor(Precision.F64).run(probe.build(),
                new Bindings().put(tx, x).put(tw, w).put(tb, new double[2]).putLabels(ty, new int[] {0}));
        double[] dy = r.doubles(op.dy()), dx = r.doubles(op.dx());
        double[] grad = new double[n];
        for (int i = 0; i < n; i++) grad[i] = dx[i] / dy[i];
        return grad;
    }

    private static double[] run(Graph graph, Tensor out, Bindings b) {
        return new CpuExecutor(Precision.F64).run(graph, b).doubles(out);
    }
}
