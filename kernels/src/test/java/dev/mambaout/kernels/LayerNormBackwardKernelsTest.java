package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The backward geometry every layernorm_backward* variant shares, and its workspace (two partial buffers). */
class LayerNormBackwardKernelsTest {

    @Test
    void geometryAndWorkspace() {
        // femto stage 1 at batch 128: 401,408 tokens on 132 SMs -> 1014 rows per block, 396 blocks (one wave of 3/SM)
        int rows = LayerNormKernels.backwardRowsPerBlock(401_408, 132);
        assertEquals(1014, rows);
        assertEquals(LaunchGeometry.linear(396, 256), LayerNormKernels.backward(401_408, rows));
        assertEquals(2L * 396 * 48, LayerNormKernels.backwardWorkspaceFloats(401_408, 48, rows));
        assertEquals(LaunchGeometry.linear(18, 256), LayerNormKernels.backwardReduce(576));
        assertEquals(2L * 7 * 37, LayerNormKernels.backwardWorkspaceFloats(7, 37, 1));
        assertThrows(IllegalArgumentException.class, () -> LayerNormKernels.backwardWorkspaceFloats(7, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> LayerNormKernels.backward(7, 0));
    }
}
