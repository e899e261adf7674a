package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LnLinearKernelsTest {

    @Test
    void slicesAndSharedMemoryMatchTheKernelsOwnSizes() {
        // lnl_smem_bytes as the lab's GPU run printed it (results-2026-12-04-h200-mlp-r3: 39296 B at K = 48, N = 256;
        // 64256 B at K = 96 in slices of 256).
        assertEquals(256, LnLinearKernels.sliceColumns(48, 256), "femto 1's whole W in one slice");
        assertEquals(39_296, LnLinearKernels.sharedBytes(48, 256));
        assertEquals(256, LnLinearKernels.sliceColumns(96, 512), "two slices of 256");
        assertEquals(64_256, LnLinearKernels.sharedBytes(96, 256));
        assertEquals(130, LnLinearKernels.sliceColumns(48, 130), "a narrow N: one slice, its groups padded");
    }

    @Test
    void theGridIsPersistentAndNeverLargerThanTheWork() {
        LaunchGeometry g = LnLinearKernels.geometry(802_816, 48, 256, 132);
        assertEquals(5 * 132, g.gridX(), "5 blocks of 39 KB per SM");
        assertEquals(1, g.gridY());
        assertEquals(LnLinearKernels.BLOCK, g.blockX());
        LaunchGeometry two = LnLinearKernels.geometry(802_816, 96, 512, 132);
        assertEquals(2, two.gridY(), "two column slices");
        assertEquals(3 * 132 / 2, two.gridX(), "3 blocks of 64 KB per SM, spread over the slices");
        assertEquals(1, LnLinearKernels.geometry(1, 48, 256, 132).gridX(), "one token: one block");
        assertEquals(2, LnLinearKernels.geometry(65, 48, 256, 132).gridX(), "5 tiles of 16 over 4 warps a block");
    }

    @Test
    void onlyTheCompiledWidthsAreSupported() {
        assertTrue(LnLinearKernels.supports(48, 256));
        assertTrue(LnLinearKernels.supports(96, 1000));
        assertFalse(LnLinearKernels.supports(192, 1024), "K = 192: the lab measured it behind cuBLASLt");
        assertFalse(LnLinearKernels.supports(48, 255), "N odd");
        assertThrows(IllegalArgumentException.class, () -> LnLinearKernels.geometry(10, 64, 256, 132));
    }
}
