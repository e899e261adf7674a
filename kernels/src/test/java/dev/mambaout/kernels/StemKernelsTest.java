package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StemKernelsTest {

    @Test
    void widthIsTheSmallestCompiledOneThatHoldsTheChannels() {
        assertEquals(8, StemKernels.width(1));
        assertEquals(24, StemKernels.width(24));
        assertEquals(32, StemKernels.width(25));
        assertEquals(64, StemKernels.width(64));
        assertEquals(-1, StemKernels.width(65));
        assertEquals(-1, StemKernels.width(0));
        assertTrue(StemKernels.supports(3, 24, 3));
        assertFalse(StemKernels.supports(3, 24, 5), "k = 3 only");
        assertFalse(StemKernels.supports(3, 96, 3));
        // 48 KB of shared memory: (C*9 + 3) * 64 floats fit up to C = 21 (exactly 48 KB).
        assertTrue(StemKernels.supports(21, 64, 3));
        assertFalse(StemKernels.supports(22, 64, 3));
        for (int w : StemKernels.widths()) {
            assertEquals(KernelCatalog.stemConvForward(true, w).name(), "stem_conv_forward_bf16_c" + w);
            assertEquals(KernelCatalog.stemConvForward(false, w).name(), "stem_conv_forward_f32_c" + w);
        }
    }

    @Test
    void packPutsTapsThenBiasGammaBetaWithZerosPastTheChannels() {
        int co = 5, ci = 2, taps = ci * 9, w = 8;
        float[] weight = new float[co * taps], bias = new float[co], gamma = new float[co], beta = new float[co];
        for (int i = 0; i < weight.length; i++) weight[i] = 1 + i;
        for (int o = 0; o < co; o++) {
            bias[o] = -1 - o;
            gamma[o] = 100 + o;
            beta[o] = 200 + o;
        }
        float[] p = StemKernels.pack(weight, bias, gamma, beta, co, ci);
        assertEquals((taps + 3) * w, p.length);
        for (int o = 0; o < w; o++) {
            for (int t = 0; t < taps; t++) assertEquals(o < co ? weight[o * taps + t] : 0f, p[t * w + o], "tap " + t + " ch " + o);
            assertEquals(o < co ? bias[o] : 0f, p[taps * w + o]);
            assertEquals(o < co ? gamma[o] : 0f, p[(taps + 1) * w + o]);
            assertEquals(o < co ? beta[o] : 0f, p[(taps + 2) * w + o]);
        }
        float[] noNorm = StemKernels.pack(weight, bias, null, null, co, ci);
        for (int o = 0; o < w; o++) assertEquals(0f, noNorm[(taps + 1) * w + o]);
        var e = assertThrows(IllegalArgumentException.class, () -> StemKernels.pack(new float[3], bias, null, null, co, ci));
        assertTrue(e.getMessage().contains("weight has 3 values, needs 90"), e.getMessage());
    }

    @Test
    void geometryCoversEveryPixelAndCarriesTheWeightsSharedMemory() {
        LaunchGeometry g = StemKernels.geometry(3_211_264, 3, 24);
        assertEquals(StemKernels.BLOCK, g.blockX());
        assertEquals(3_211_264 / (2 * StemKernels.BLOCK), g.gridX());
        assertEquals((27 + 3) * 24 * 4, g.sharedBytes());
        assertEquals(2, StemKernels.geometry(129, 3, 48).gridX(), "one pixel per thread at width 48");
    }
}
