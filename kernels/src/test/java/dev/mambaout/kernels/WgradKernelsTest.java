package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WgradKernelsTest {

    @Test
    void rowsPerBlockDependOnTheRowCountAloneWithinTheirBounds() {
        assertEquals(4096, WgradKernels.rowsPerBlock(128L * 112 * 112), "femto's stem at batch 128: the cap");
        assertEquals(392, WgradKernels.blocks(128L * 112 * 112));
        assertEquals(256, WgradKernels.rowsPerBlock(256L * 16 * 16), "Fashion-MNIST's stem: the floor");
        assertEquals(256, WgradKernels.blocks(256L * 16 * 16));
        assertEquals(320, WgradKernels.rowsPerBlock(264L * 300), "300 rows per target block, rounded up to 64");
        assertEquals(1, WgradKernels.blocks(1));
        assertEquals(3904, WgradKernels.rowsPerBlock(1_015_803), "3,848 rounded up to 64");
        assertEquals(261L * (24 * 32 + 24), WgradKernels.workspaceFloats(1_015_803, 24, 32), "261 partials of dW | db");
        assertTrue(WgradKernels.supports(64, 64));
        assertFalse(WgradKernels.supports(65, 8));
        assertFalse(WgradKernels.supports(8, 216));
    }
}
