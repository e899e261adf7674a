package dev.mambaout.model.cli;

import java.util.ArrayList;
import java.util.List;

/** Softmax probabilities and the top-k classes of one row of logits. */
public final class Predictions {

    /** One ranked class: index into the logits and its softmax probability. */
    public record Prediction(int index, double probability) {}

    private Predictions() {}

    /** Numerically stable softmax (max subtracted), in double. */
    public static double[] softmax(float[] logits, int offset, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += p[i] = Math.exp(logits[offset + i] - max);
        for (int i = 0; i < n; i++) p[i] /= sum;
        return p;
    }

    /**
     * The k most probable classes of {@code logits[offset .. offset + n)}, best first; ties keep the lower index first,
     * as a stable sort of the probabilities would. NaN logits are an error: they would make every probability NaN.
     */
    public static List<Prediction> topK(float[] logits, int offset, int n, int k) {
        for (int i = 0; i < n; i++) {
            if (Float.isNaN(logits[offset + i])) throw new IllegalStateException("logit " + i + " is NaN: the forward pass diverged");
        }
        double[] p = softmax(logits, offset, n);
        int m = Math.min(k, n);
        List<Prediction> out = new ArrayList<>(m);
        boolean[] taken = new boolean[n];
        for (int r = 0; r < m; r++) {
            int best = -1;
            for (int i = 0; i < n; i++) if (!taken[i] && (best < 0 || p[i] > p[best])) best = i;
            taken[best] = true;
            out.add(new Prediction(best, p[best]));
        }
        return out;
    }
}
