package dev.mambaout.natives.blas;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pure-Java half of autotuning: choosing among candidates with made-up timings, the printed table, and the
 * argument checks that run before any GPU work. The GPU half is {@code LtAutotuneGpuTest}.
 */
class LtAutotuneTest {

    private static final LtAlgo ALGO = new LtAlgo(66, 20, 35, 1, 0, 0, 0, 0, 3);
    private static final long P = 0x7f00_0000_0000L;   // a 256-byte aligned stand-in for a device pointer
    private static final LtMatmulSpec BF16 = LtMatmulSpec.of(RowMajorGemm.linear(33, 61, 47), CudaDataType.BF16,
            CudaDataType.BF16, ComputeType.F32, Epilogue.NONE);

    private static LtCandidate.Timed timed(int rank, double... ms) {
        return new LtCandidate.Timed(rank, ALGO, 1024L * rank, 1.5f, java.util.Arrays.stream(ms).boxed().toList());
    }

    private static LtCandidate.Rejected rejected(int rank, String why) {
        return new LtCandidate.Rejected(rank, ALGO, 0, 0.5f, why);
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, timed(0, 9, 1, 2).medianMs());
        assertEquals(2.5, timed(0, 4, 1, 3, 2).medianMs());
        assertEquals(7.0, timed(0, 7).medianMs());
        assertEquals(1.0, timed(0, 4, 1, 3, 2).minMs());
        assertEquals(4.0, timed(0, 4, 1, 3, 2).maxMs());
    }

    @Test
    void selectKeepsTheSmallestMedianNotTheSmallestSample() {
        // Candidate 1 has the single fastest sample (an outlier) but candidate 2 the smaller median.
        List<LtCandidate> c = List.of(timed(0, 1.00, 1.01, 0.99), timed(1, 0.50, 1.20, 1.10), timed(2, 0.95, 0.96, 0.97));
        LtTuning t = LtTuning.select(c);
        assertEquals(2, t.chosen());
        assertSame(c.get(2), t.best());
        assertSame(c.get(0), t.firstTimed());
        assertEquals(1.00 / 0.96, t.speedupOverFirst(), 1e-12);
        assertTrue(t.best().medianMs() <= t.firstTimed().medianMs());
    }

    @Test
    void aTieKeepsTheHeuristicsEarlierChoice() {
        LtTuning t = LtTuning.select(List.of(timed(0, 2, 2, 2), timed(1, 3), timed(2, 2, 2, 2)));
        assertEquals(0, t.chosen());
        assertEquals(1.0, t.speedupOverFirst());
    }

    @Test
    void rejectedCandidatesAreSkippedAndFirstTimedIsTheEarliestTimed() {
        List<LtCandidate> c = List.of(rejected(0, "needs 64 bytes of workspace"), timed(1, 5, 5, 5),
                rejected(2, "CUBLAS_STATUS_NOT_SUPPORTED"), timed(3, 4, 6, 4));
        LtTuning t = LtTuning.select(c);
        assertEquals(3, t.chosen());
        assertSame(c.get(1), t.firstTimed());
        assertEquals(5.0 / 4.0, t.speedupOverFirst(), 1e-12);
    }

    @Test
    void noTimedCandidateIsAnErrorListingEveryReason() {
        var e = assertThrows(IllegalStateException.class, () -> LtTuning.select(List.of(
                rejected(0, "needs 33554432 bytes of workspace"), rejected(1, "CUBLAS_STATUS_NOT_SUPPORTED"))));
        assertTrue(e.getMessage().contains("candidate 0: needs 33554432 bytes")
                && e.getMessage().contains("candidate 1: CUBLAS_STATUS_NOT_SUPPORTED"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> LtTuning.select(List.of()));
    }

    @Test
    void chosenMustBeATimedCandidate() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new LtTuning(List.of(rejected(0, "x"), timed(1, 1)), 0));
        assertTrue(e.getMessage().contains("chosen=0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LtTuning(List.of(timed(0, 1)), 1));
    }

    @Test
    void samplesMustBePositiveAndFinite() {
        for (double bad : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            var e = assertThrows(IllegalArgumentException.class, () -> timed(4, 1, bad));
            assertTrue(e.getMessage().contains("candidate 4"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> timed(0));
        assertThrows(IllegalArgumentException.class, () -> rejected(0, " "));
    }

    @Test
    void tableHasOneLinePerCandidateMarksTheChoiceAndGivesReasons() {
        LtTuning t = LtTuning.select(List.of(timed(0, 0.002, 0.003, 0.004), rejected(1, "needs 99 bytes"),
                timed(2, 0.001, 0.001, 0.001)));
        String[] lines = t.table().split("\n");
        assertEquals(4, lines.length, t.table());
        assertTrue(lines[1].contains("3.00") && !lines[1].contains("chosen"), lines[1]);
        assertTrue(lines[2].contains("rejected: needs 99 bytes"), lines[2]);
        assertTrue(lines[3].contains("1.00") && lines[3].endsWith("<- chosen"), lines[3]);
        assertTrue(lines[3].contains("id=66 tile=20 stages=35"), lines[3]);
    }

    @Test
    void operandsNeedPointersAndACapturableStream() {
        assertThrows(IllegalArgumentException.class, () -> new LtOperands(1, 0, P, 0, 0, P, 0, 0, 0, 5));
        assertThrows(IllegalArgumentException.class, () -> new LtOperands(1, P, P, 0, 0, 0, 0, 0, 0, 5));
        var beta = assertThrows(IllegalArgumentException.class, () -> new LtOperands(1, P, P, 1, 0, P, 0, 0, 0, 5));
        assertTrue(beta.getMessage().contains("beta"), beta.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LtOperands(1, P, P, 0, 0, P, 0, 0, -1, 5));
        var ws = assertThrows(IllegalArgumentException.class, () -> new LtOperands(1, P, P, 0, 0, P, 0, 0, 64, 5));
        assertTrue(ws.getMessage().contains("workspace"), ws.getMessage());
        for (long legacy : new long[] {0, 1}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new LtOperands(1, P, P, 0, 0, P, 0, 0, 0, legacy));
            assertTrue(e.getMessage().contains("legacy default stream"), e.getMessage());
        }
        new LtOperands(1, P, P, 0, 0, P, 0, 0, 0, 2).checkAgainst(BF16);   // per-thread default stream is capturable
    }

    @Test
    void operandsAreCheckedAgainstTheSpecBeforeAnyGpuWork() {
        var mis = assertThrows(IllegalArgumentException.class,
                () -> new LtOperands(1, P, P + 8, 0, 0, P, 0, 0, 0, 5).checkAgainst(BF16));
        assertTrue(mis.getMessage().startsWith("B=") && mis.getMessage().contains("not aligned"), mis.getMessage());
        var bias = assertThrows(IllegalArgumentException.class,
                () -> new LtOperands(1, P, P, 0, 0, P, P, 0, 0, 5).checkAgainst(BF16));
        assertTrue(bias.getMessage().contains("takes no bias"), bias.getMessage());
        LtMatmulSpec withBias = LtMatmulSpec.of(BF16.shape(), CudaDataType.BF16, CudaDataType.BF16, ComputeType.F32,
                Epilogue.BIAS);
        var missing = assertThrows(IllegalArgumentException.class,
                () -> new LtOperands(1, P, P, 0, 0, P, 0, 0, 0, 5).checkAgainst(withBias));
        assertTrue(missing.getMessage().startsWith("bias is a null device pointer"), missing.getMessage());
        new LtOperands(1, P, P, 0, 0, P, P + 256, 0, 0, 5).checkAgainst(withBias);
    }

    @Test
    void autotuneSettingsAreRangeChecked() {
        var ops = new LtOperands(1, P, P, 0, 0, P, 0, 0, 0, 5);
        var c = assertThrows(IllegalArgumentException.class, () -> new LtAutotune(null, ops, 0, 2, 5, 10));
        assertTrue(c.getMessage().contains("candidates"), c.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LtAutotune(null, ops, 33, 2, 5, 10));
        assertThrows(IllegalArgumentException.class, () -> new LtAutotune(null, ops, 8, -1, 5, 10));
        var s = assertThrows(IllegalArgumentException.class, () -> new LtAutotune(null, ops, 8, 2, 0, 10));
        assertTrue(s.getMessage().contains("samples"), s.getMessage());
        var r = assertThrows(IllegalArgumentException.class, () -> new LtAutotune(null, ops, 8, 2, 5, 0));
        assertTrue(r.getMessage().contains("runsPerSample"), r.getMessage());
        var d = assertThrows(IllegalArgumentException.class, () -> new LtAutotune(null, ops, 8, 2, 5, 10));
        assertTrue(d.getMessage().contains("driver"), d.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LtAutotune.of(null, ops));
    }
}
