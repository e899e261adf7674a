package dev.mambaout.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GemmCaseTest {

    /** The shapes written out by hand from the issue: tokens 256*(56/2^s)^2, dims 48/96/192/288, hidden (int)(8/3 dim). */
    @Test
    void femtoShapesAtBatch256MatchTheIssue() {
        int[] tokens = {802816, 200704, 50176, 12544};
        int[] dims = {48, 96, 192, 288};
        int[] hidden = {128, 256, 512, 768};
        for (int s = 0; s < 4; s++) {
            GemmCase fc1 = GemmCase.byName("femto_b256_s" + s + "_fc1");
            GemmCase fc2 = GemmCase.byName("femto_b256_s" + s + "_fc2");
            assertEquals(List.of(tokens[s], 2 * hidden[s], dims[s]), List.of(fc1.m(), fc1.n(), fc1.k()), "fc1 s" + s);
            assertEquals(List.of(tokens[s], dims[s], hidden[s]), List.of(fc2.m(), fc2.n(), fc2.k()), "fc2 s" + s);
        }
        GemmCase first = GemmCase.byName("femto_b256_s0_fc1");
        assertEquals(2.0 * 802816 * 256 * 48, first.flops());
        assertEquals(2L * (802816L * 48 + 256 * 48 + 802816L * 256), first.bytes());
    }

    @Test
    void everyBenchmarkParameterNamesACase() throws NoSuchFieldException {
        String[] params = GemmBench.class.getField("shape")
                .getAnnotation(org.openjdk.jmh.annotations.Param.class).value();
        assertEquals(GemmCase.ALL.keySet(), java.util.Set.of(params));
        assertEquals(9, params.length);
    }

    @Test
    void unknownCaseListsTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> GemmCase.byName("femto_s9"));
        assertTrue(e.getMessage().contains("square_8192"), e.getMessage());
    }

    @Test
    void rotatingSetsPassTwiceTheL2() {
        long l2 = 50L << 20;
        assertEquals(1, GemmBench.setsFor(400L << 20, l2));
        assertEquals(3, GemmBench.setsFor(40L << 20, l2));     // 3 x 40 MiB >= 100 MiB > 2 x 40
        assertEquals(GemmBench.MAX_SETS, GemmBench.setsFor(1 << 20, l2));
    }
}
