package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Launch geometry of col2im and the elementwise backward/cast kernels, worked out by hand. */
class Col2imGeometryTest {

    @Test
    void col2imCapsTheGridAtEightBlocksPerSm() {
        // femto stem conv2 at batch 128, bf16: dx 128*112*112 pixels x 24 = 38.5M elements, 8 per unit: 4.8M units.
        assertEquals(LaunchGeometry.linear(8 * 132, 256),
                Im2colKernels.col2im(128L * 112 * 112, 24, 128L * 56 * 56, 216, 2, 132));
        // down3 f32 dcol, batch 1: 14*14*192 / 4 = 9,408 units -> 37 blocks.
        assertEquals(LaunchGeometry.linear(37, 256), Im2colKernels.col2im(14 * 14, 192, 7 * 7, 1728, 4, 132));
        // C = 3 (not a multiple of 8): one element per thread: 2*9*7*3 = 378 -> 2 blocks.
        assertEquals(LaunchGeometry.linear(2, 256), Im2colKernels.col2im(2 * 9 * 7, 3, 2 * 5 * 4, 32, 2, 132));
        // colStride 29 (odd): per element although C = 8.
        assertEquals(LaunchGeometry.linear(1, 256), Im2colKernels.col2im(30, 8, 30, 76, 2, 132));
        assertEquals(LaunchGeometry.linear(2, 256), Im2colKernels.col2im(64, 8, 30, 75, 2, 132));
        assertEquals(LaunchGeometry.linear(1, 256), Im2colKernels.col2im(1, 1, 1, 8, 4, 132));
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.col2im(1L << 31, 1, 1, 8, 4, 132));
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.col2im(1, 8, 1L << 28, 8, 4, 132));
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.col2im(1, 8, 1, 8, 8, 132));
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.col2im(1, 8, 1, 8, 4, 0));
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.col2im(0, 8, 1, 8, 4, 132));
    }

    @Test
    void castsTakeEightElementsPerThread() {
        assertEquals(LaunchGeometry.linear(1, 256), ElementwiseKernels.castGeometry(1));
        assertEquals(LaunchGeometry.linear(1, 256), ElementwiseKernels.castGeometry(2048));
        assertEquals(LaunchGeometry.linear(2, 256), ElementwiseKernels.castGeometry(2049));
        assertEquals(LaunchGeometry.linear(128 * 112 * 112 * 24 / 8 / 256, 256),
                ElementwiseKernels.castGeometry(128L * 112 * 112 * 24));
        assertThrows(IllegalArgumentException.class, () -> ElementwiseKernels.castGeometry(0));
    }
}
