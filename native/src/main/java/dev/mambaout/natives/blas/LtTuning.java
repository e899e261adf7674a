package dev.mambaout.natives.blas;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What an autotuned plan measured: every candidate in the heuristics' order, and which one it kept.
 *
 * @param chosen index into {@code candidates} of the kept candidate, which is {@link LtCandidate.Timed}
 */
public record LtTuning(List<LtCandidate> candidates, int chosen) {

    public LtTuning {
        candidates = List.copyOf(candidates);
        if (chosen < 0 || chosen >= candidates.size() || !(candidates.get(chosen) instanceof LtCandidate.Timed)) {
            throw new IllegalArgumentException("chosen=" + chosen + " is not a timed candidate of " + candidates);
        }
    }

    /**
     * Keeps the timed candidate with the smallest median; a tie goes to the earlier one (the heuristics' order), so
     * equal timings never move a plan off the heuristics' own preference.
     *
     * @throws IllegalStateException when no candidate was timed, listing why each was rejected
     */
    public static LtTuning select(List<LtCandidate> candidates) {
        int best = -1;
        double bestMs = Double.POSITIVE_INFINITY;
        for (int i = 0; i < candidates.size(); i++) {
            if (candidates.get(i) instanceof LtCandidate.Timed t && t.medianMs() < bestMs) {
                best = i;
                bestMs = t.medianMs();
            }
        }
        if (best < 0) {
            List<String> reasons = new ArrayList<>();
            for (LtCandidate c : candidates) {
                if (c instanceof LtCandidate.Rejected r) reasons.add("candidate " + r.rank() + ": " + r.reason());
            }
            throw new IllegalStateException("autotune timed none of the " + candidates.size()
                    + " candidate(s) the heuristics offered" + (reasons.isEmpty() ? "" : ": " + reasons));
        }
        return new LtTuning(candidates, best);
    }

    public LtCandidate.Timed best() { return (LtCandidate.Timed) candidates.get(chosen); }

    /** The earliest timed candidate in the heuristics' order: what the plan would run without autotuning, if timed. */
    public LtCandidate.Timed firstTimed() {
        for (LtCandidate c : candidates) {
            if (c instanceof LtCandidate.Timed t) return t;
        }
        throw new IllegalStateException("no timed candidate in " + candidates);
    }

    /** The first timed candidate's median over the chosen one's: 1 when the heuristics' first choice was kept. */
    public double speedupOverFirst() { return firstTimed().medianMs() / best().medianMs(); }

    /** One line per candidate: rank, median / min / max µs per product, workspace, waves, algorithm, and a marker. */
    public String table() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%4s %10s %10s %10s %10s %6s  %s%n",
                "rank", "median_us", "min_us", "max_us", "ws_bytes", "waves", "algorithm"));
        for (int i = 0; i < candidates.size(); i++) {
            LtCandidate c = candidates.get(i);
            String times = c instanceof LtCandidate.Timed t
                    ? String.format(Locale.ROOT, "%10.2f %10.2f %10.2f", 1e3 * t.medianMs(), 1e3 * t.minMs(),
                            1e3 * t.maxMs())
                    : String.format(Locale.ROOT, "%10s %10s %10s", "-", "-", "-");
            String mark = switch (c) {
                case LtCandidate.Timed _ -> i == chosen ? "  <- chosen" : "";
                case LtCandidate.Rejected r -> "  rejected: " + r.reason();
            };
            sb.append(String.format(Locale.ROOT, "%4d %s %10d %6.2f  %s%s%n", c.rank(), times, c.workspaceBytes(),
                    c.waves(), c.algo() == null ? "?" : c.algo(), mark));
        }
        return sb.toString();
    }
}
