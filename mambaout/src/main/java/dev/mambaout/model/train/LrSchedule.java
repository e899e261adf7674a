package dev.mambaout.model.train;

/**
 * The learning rate of each optimiser step, a pure function of the step index (0-based, the index of the update
 * about to be made), so a resumed run continues on the same curve.
 */
public sealed interface LrSchedule permits LrSchedule.OneCycle, LrSchedule.WarmupCosine {

    double lr(long step);

    long totalSteps();

    /**
     * PyTorch's {@code OneCycleLR} with its defaults ({@code anneal_strategy='cos'}, two phases): from
     * {@code maxLr / divFactor} up to {@code maxLr} at step {@code pctStart * total - 1}, then down to
     * {@code initial / finalDivFactor} at the last step, each phase a half cosine. Where a phase has zero length
     * (PyTorch would divide by zero) its end value is used.
     */
    record OneCycle(double maxLr, long totalSteps, double pctStart, double divFactor, double finalDivFactor) implements LrSchedule {

        public static OneCycle defaults(double maxLr, long totalSteps, double pctStart) {
            return new OneCycle(maxLr, totalSteps, pctStart, 25, 1e4);
        }

        public OneCycle {
            checkCommon(maxLr, totalSteps);
            if (!(pctStart >= 0 && pctStart <= 1)) throw new IllegalArgumentException("pct_start must lie in [0, 1], got " + pctStart);
            if (!(divFactor > 0) || !(finalDivFactor > 0)) {
                throw new IllegalArgumentException("div factors must be > 0, got " + divFactor + " and " + finalDivFactor);
            }
        }

        @Override
        public double lr(long step) {
            checkStep(step, totalSteps);
            double initial = maxLr / divFactor, min = initial / finalDivFactor;
            double warmEnd = pctStart * totalSteps - 1, end = totalSteps - 1;
            if (step <= warmEnd) return cos(initial, maxLr, phase(step, 0, warmEnd));
            return cos(maxLr, min, phase(step, warmEnd, end));
        }

        private static double phase(long step, double start, double end) {
            return end > start ? (step - start) / (end - start) : 1;
        }

        /** PyTorch's {@code _annealing_cos}. */
        private static double cos(double start, double end, double pct) {
            return end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1);
        }
    }

    /**
     * Linear warmup from 0 to {@code lr} over {@code warmupSteps}, then a half cosine down to 0 at
     * {@code totalSteps}: Hugging Face's {@code get_cosine_schedule_with_warmup} ({@code lr * s / warmup}, then
     * {@code lr * 0.5 * (1 + cos(pi * (s - warmup) / (total - warmup)))}).
     */
    record WarmupCosine(double baseLr, long totalSteps, long warmupSteps) implements LrSchedule {

        public WarmupCosine {
            checkCommon(baseLr, totalSteps);
            if (warmupSteps < 0 || warmupSteps > totalSteps) {
                throw new IllegalArgumentException("warmup steps must lie in [0, " + totalSteps + "], got " + warmupSteps);
            }
        }

        @Override
        public double lr(long step) {
            checkStep(step, totalSteps);
            if (step < warmupSteps) return baseLr * step / warmupSteps;
            double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
            return baseLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
        }
    }

    private static void checkCommon(double lr, long total) {
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("learning rate must be a positive number, got " + lr);
        if (total < 1) throw new IllegalArgumentException("a schedule needs at least one step, got " + total);
    }

    private static void checkStep(long step, long total) {
        if (step < 0 || step >= total) throw new IllegalArgumentException("step " + step + " outside the schedule's [0, " + total + ")");
    }
}
