package dev.mambaout.natives.blas;

import java.util.Arrays;
import java.util.List;

/**
 * One algorithm the heuristics offered an autotuned plan, in the heuristics' order ({@code rank} 0 is what an
 * untuned plan would take): either timed, or rejected with the reason.
 */
public sealed interface LtCandidate permits LtCandidate.Timed, LtCandidate.Rejected {

    int rank();

    LtAlgo algo();

    long workspaceBytes();

    /** The heuristics' {@code wavesCount}: how many waves of thread blocks the kernel launches on this device. */
    float waves();

    /** @param sampleMs milliseconds per product, one value per timed sample */
    record Timed(int rank, LtAlgo algo, long workspaceBytes, float waves, List<Double> sampleMs)
            implements LtCandidate {

        public Timed {
            if (sampleMs == null || sampleMs.isEmpty()) {
                throw new IllegalArgumentException("candidate " + rank + " has no timing samples");
            }
            for (double ms : sampleMs) {
                if (!(ms > 0) || Double.isInfinite(ms)) {
                    throw new IllegalArgumentException("candidate " + rank + " has a timing sample of " + ms
                            + " ms; every sample must be positive and finite: " + sampleMs);
                }
            }
            sampleMs = List.copyOf(sampleMs);
        }

        /** The median sample (the mean of the middle two for an even count). */
        public double medianMs() {
            double[] s = sampleMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int n = s.length;
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }

        public double minMs() { return sampleMs.stream().mapToDouble(Double::doubleValue).min().orElseThrow(); }

        public double maxMs() { return sampleMs.stream().mapToDouble(Double::doubleValue).max().orElseThrow(); }

        @Override
        public String toString() {
            return "candidate " + rank + " (" + algo + "): median " + medianMs() + " ms of "
                    + Arrays.toString(sampleMs.toArray());
        }
    }

    /**
     * @param algo   null when cuBLASLt could not describe it (the heuristics flagged it as failed)
     * @param reason why it was not timed: the heuristics' state, too little workspace, or cuBLASLt's error
     */
    record Rejected(int rank, LtAlgo algo, long workspaceBytes, float waves, String reason) implements LtCandidate {

        public Rejected {
            if (reason == null || reason.isBlank()) {
                throw new IllegalArgumentException("a rejected candidate needs a reason (candidate " + rank + ")");
            }
        }
    }
}
