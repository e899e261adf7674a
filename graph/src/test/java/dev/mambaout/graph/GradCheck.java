package dev.mambaout.graph;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Central finite differences of L = sum(R * out) for a fixed random R, against analytic gradients. The analytic
 * side is whatever graph the caller wires; this class only knows how to perturb bound values and rerun.
 */
final class GradCheck {
    static final double H = 1e-6;

    final Graph graph;
    final Map<Tensor, double[]> values = new HashMap<>();
    final Map<Tensor, int[]> labels = new HashMap<>();
    final Random rnd;
    final CpuExecutor cpu = new CpuExecutor(Precision.F64);

    GradCheck(Graph graph, long seed) {
        this.graph = graph;
        this.rnd = new Random(seed);
    }

    double[] random(Tensor t, double scale, double offset) {
        double[] v = new double[(int) t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = offset + scale * rnd.nextGaussian();
        values.put(t, v);
        return v;
    }

    Bindings bindings() {
        Bindings b = new Bindings();
        values.forEach((t, v) -> b.put(t, v));
        labels.forEach(b::putLabels);
        return b;
    }

    Results run() {
        return cpu.run(graph, bindings());
    }

    /** sum(weights * value of out) with the current bindings. */
    double objective(Tensor out, double[] weights) {
        double[] y = run().doubles(out);
        double s = 0;
        for (int i = 0; i < y.length; i++) s += weights == null ? y[i] : weights[i] * y[i];
        return s;
    }

    /**
     * Compares analytic[i] with the central difference of the objective along values[wrt][i], for every i when the
     * tensor is small, else for {@code samples} random indices. Tolerance is relative to the gradient's scale.
     */
    void compare(String what, Tensor wrt, double[] analytic, Tensor out, double[] weights, int samples, double rtol) {
        double[] x = values.get(wrt);
        double scale = 0;
        for (double a : analytic) scale = Math.max(scale, Math.abs(a));
        assertTrue(scale > 0, what + ": gradient is identically zero, the check would be vacuous");
        int n = x.length;
        int count = n <= samples ? n : samples;
        double worst = 0;
        for (int s = 0; s < count; s++) {
            int i = n <= samples ? s : rnd.nextInt(n);
            double keep = x[i];
            x[i] = keep + H;
            double plus = objective(out, weights);
            x[i] = keep - H;
            double minus = objective(out, weights);
            x[i] = keep;
            double fd = (plus - minus) / (2 * H);
            double err = Math.abs(fd - analytic[i]) / (Math.abs(analytic[i]) + scale * 1e-2);
            worst = Math.max(worst, err);
            assertTrue(err < rtol, what + " d/d" + wrt.name() + "[" + i + "]: analytic " + analytic[i] + " vs finite difference " + fd
                    + " (rel err " + err + ")");
        }
        assertTrue(worst < rtol);
    }
}
