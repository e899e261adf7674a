package dev.mambaout.model.train;

/** Scores of a batch of logits [n, classes] against its labels. */
final class Classification {

    private Classification() {}

    /** Samples whose largest logit is their label's (the first of equal maxima counts, as argmax takes it). */
    static int correct(float[] logits, int[] labels, int classes) {
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            for (int k = 1; k < classes; k++) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
            if (best == labels[i]) right++;
        }
        return right;
    }

    /** Summed (not mean) cross-entropy without smoothing, through a max-shifted log-sum-exp in double. */
    static double crossEntropySum(float[] logits, int[] labels, int classes) {
        double sum = 0;
        for (int i = 0; i < labels.length; i++) {
            int o = i * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < classes; k++) max = Math.max(max, logits[o + k]);
            double z = 0;
            for (int k = 0; k < classes; k++) z += Math.exp(logits[o + k] - max);
            sum += max + Math.log(z) - logits[o + labels[i]];
        }
        return sum;
    }
}
