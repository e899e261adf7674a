package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The optimizer family's geometry, buffer layouts, flat parameter layout and host formula, worked out by hand. */
class AdamWKernelsTest {

    @Test
    void geometryCapsThePartialsAndCoversEveryVector() {
        assertEquals(1, AdamWKernels.sumsqGrid(1));
        assertEquals(1, AdamWKernels.sumsqGrid(1024));                 // 256 float4
        assertEquals(2, AdamWKernels.sumsqGrid(1025));
        assertEquals(AdamWKernels.MAX_PARTIALS, AdamWKernels.sumsqGrid(7_300_000));
        assertEquals(LaunchGeometry.linear(3, 256), AdamWKernels.sumsq(2049));                 // 513 float4
        assertEquals(LaunchGeometry.linear(1, 256), AdamWKernels.finalizeNorm());
        assertEquals(LaunchGeometry.linear(1, 256), AdamWKernels.step(5));
        assertEquals(LaunchGeometry.linear(7129, 256), AdamWKernels.step(7_300_000));   // 1.825M float4
        assertEquals(AdamWKernels.STEP_MAX_GRID, AdamWKernels.step(Integer.MAX_VALUE).gridX());
        assertThrows(IllegalArgumentException.class, () -> AdamWKernels.step(0));
        assertThrows(IllegalArgumentException.class, () -> AdamWKernels.sumsqGrid(1L << 31));
        assertEquals(64 + 8 * 1024, AdamWKernels.WORKSPACE_BYTES);
    }

    @Test
    void hyperparametersAreWrittenInTheKernelsOrder() {
        var h = new AdamWKernels.Hyper(1e-3, 0.9, 0.999, 1e-8, 0.05, 7, 1.0);
        assertArrayEquals(new double[] {1e-3, 0.9, 0.999, 1e-8, 0.05, 7, 1.0, 0}, h.toArray());
        assertArrayEquals(new double[] {2e-3, 0.9, 0.999, 1e-8, 0.05, 8, 1.0, 0}, h.at(8, 2e-3).toArray());
        assertEquals(AdamWKernels.HYPER_DOUBLES * 8, AdamWKernels.HYPER_BYTES);
        assertThrows(IllegalArgumentException.class, () -> h.at(0, 1e-3));
        assertThrows(IllegalArgumentException.class, () -> new AdamWKernels.Hyper(1e-3, 1, 0.999, 1e-8, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamWKernels.Hyper(1e-3, 0.9, 0.999, 0, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamWKernels.Hyper(1e-3, 0.9, 0.999, 1e-8, 0, 1, -1));
    }

    @Test
    void planPutsDecayingSlicesFirstEachAlignedToEight() {
        AdamWKernels.Layout l = AdamWKernels.plan(new long[] {5, 27, 3, 16, 1}, new boolean[] {false, true, false, true, false});
        // decaying: 27 at 0 (pad to 32), 16 at 32 -> decayCount 48; exempt: 5 at 48, 3 at 56, 1 at 64 -> total 72
        assertArrayEquals(new long[] {48, 0, 56, 32, 64}, l.offsets());
        assertEquals(48, l.decayCount());
        assertEquals(72, l.total());
        AdamWKernels.Layout none = AdamWKernels.plan(new long[] {3, 9}, new boolean[] {false, false});
        assertEquals(new AdamWKernels.Layout(new long[] {0, 8}, 0, 24), none);
        AdamWKernels.Layout all = AdamWKernels.plan(new long[] {3, 9}, new boolean[] {true, true});
        assertEquals(new AdamWKernels.Layout(new long[] {0, 8}, 17, 24), all);
        assertThrows(IllegalArgumentException.class, () -> AdamWKernels.plan(new long[] {0}, new boolean[] {true}));
        assertThrows(IllegalArgumentException.class, () -> AdamWKernels.plan(new long[] {1}, new boolean[0]));
    }

    @Test
    void referenceStepByHand() {
        // One element that decays, one that does not; step 1, no clipping: m = 0.1 g, v = 0.001 g^2, the update is
        // lr * sign(g) (up to eps), decay 1 - lr * wd on the first element only.
        float[] p = {2f, 2f}, m = new float[2], v = new float[2], g = {3f, -4f};
        double lr = 0.01, wd = 0.5;
        double[] h = new AdamWKernels.Hyper(lr, 0.9, 0.999, 1e-8, wd, 1, 0).toArray();
        double norm = AdamWKernels.reference(p, m, v, g, 1, h);
        assertEquals(5, norm, 1e-15);
        assertEquals((float) (2 * (1 - lr * wd) - lr), p[0], 2e-7f);
        assertEquals((float) (2 + lr), p[1], 2e-7f);
        assertEquals(0.3f, m[0], 1e-8f);
        assertEquals((float) (0.001 * 16), v[1], 1e-9f);
        assertArrayEquals(new float[] {3f, -4f}, g);

        // Clipping to 1: the gradients are scaled by 1 / (5 + 1e-6) before the moments.
        float[] m2 = new float[2], v2 = new float[2];
        AdamWKernels.reference(new float[2], m2, v2, g, 0, new AdamWKernels.Hyper(lr, 0.9, 0.999, 1e-8, 0, 1, 1).toArray());
        assertEquals((float) ((1 - 0.9) * (3 * (1 / (5 + 1e-6)))), m2[0]);
        assertTrue(m2[1] < 0);
    }
}
