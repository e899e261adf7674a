package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The LayerScale geometry worked out by hand: forward a thread per 4-channel unit (C % 4 == 0) or channel, capped at
 * 2^20 blocks; backward ceil(tokens / 16) blocks up to 528, one partial row of C each; finalize ceil(C / 32) blocks.
 * And the host reference on a case small enough to write out.
 */
class LayerScaleKernelsTest {

    @Test
    void forwardCoversEveryUnit() {
        // femto stage 1 at batch 256: 802,816 tokens x 48 channels / 4 = 9,633,792 units = 37,632 blocks
        assertEquals(LaunchGeometry.linear(37_632, 256), LayerScaleKernels.forward(802_816, 48));
        assertEquals(LaunchGeometry.linear(1, 256), LayerScaleKernels.forward(1, 1));
        assertEquals(LaunchGeometry.linear(1, 256), LayerScaleKernels.forward(1, 1024));     // 256 units
        assertEquals(LaunchGeometry.linear(2, 256), LayerScaleKernels.forward(1, 1028));     // 257 units
        assertEquals(LaunchGeometry.linear(770, 256), LayerScaleKernels.forward(1000, 197)); // 197,000 channels
        assertEquals(LayerScaleKernels.MAX_GRID, LayerScaleKernels.forward(1 << 20, 1023).gridX());
    }

    @Test
    void backwardBlocksAndWorkspace() {
        assertEquals(1, LayerScaleKernels.backwardBlocks(1, 3));
        assertEquals(1, LayerScaleKernels.backwardBlocks(16, 3));
        assertEquals(3, LayerScaleKernels.backwardBlocks(37, 24));
        assertEquals(63, LayerScaleKernels.backwardBlocks(1000, 197));
        assertEquals(528, LayerScaleKernels.backwardBlocks(802_816, 48));
        assertEquals(528, LayerScaleKernels.backwardBlocks(528 * 16, 7));
        assertEquals(528, LayerScaleKernels.backwardBlocks(528 * 16 + 1, 7));
        assertEquals(LaunchGeometry.linear(63, 256), LayerScaleKernels.backward(1000, 197));
        assertEquals(63L * 197, LayerScaleKernels.backwardWorkspaceFloats(1000, 197));
        assertEquals(528L * 288, LayerScaleKernels.backwardWorkspaceFloats(12_544, 288));
        assertEquals(LaunchGeometry.linear(1, 256), LayerScaleKernels.finalizeGeometry(1));
        assertEquals(LaunchGeometry.linear(1, 256), LayerScaleKernels.finalizeGeometry(32));
        assertEquals(LaunchGeometry.linear(7, 256), LayerScaleKernels.finalizeGeometry(197));
    }

    @Test
    void sizesOutsideTheKernelsIndicesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> LayerScaleKernels.forward(0, 8));
        assertThrows(IllegalArgumentException.class, () -> LayerScaleKernels.backwardBlocks(8, 0));
        assertThrows(IllegalArgumentException.class, () -> LayerScaleKernels.finalizeGeometry(0));
        var big = assertThrows(IllegalArgumentException.class, () -> LayerScaleKernels.backwardWorkspaceFloats(1 << 16, 1 << 15));
        assertTrue(big.getMessage().contains("32-bit indices"), big.getMessage());
    }

    @Test
    void referenceByHand() {
        // 2 tokens x 3 channels
        float[] shortcut = {1, 2, 3, 4, 5, 6}, x = {0.5f, -1, 2, 3, 0.25f, -4}, gamma = {2, -1, 0.5f};
        assertArrayEquals(new double[] {2, 3, 4, 10, 4.75, 4},
                LayerScaleKernels.forwardReference(shortcut, x, gamma, 2, 3));
        float[] dy = {1, -2, 4, 0.5f, 8, -1};
        LayerScaleKernels.Grads g = LayerScaleKernels.backwardReference(dy, x, gamma, 2, 3);
        assertArrayEquals(new double[] {2, 2, 2, 1, -8, -0.5}, g.dx());
        assertArrayEquals(new double[] {0.5 + 1.5, 2 + 2, 8 + 4}, g.dGamma());
        assertThrows(IllegalArgumentException.class, () -> LayerScaleKernels.backwardReference(dy, x, new float[2], 2, 3));
    }
}
