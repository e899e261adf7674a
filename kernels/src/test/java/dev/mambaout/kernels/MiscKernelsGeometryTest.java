package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Launch geometry and column layout of the im2col, elementwise and head families, worked out by hand. */
class MiscKernelsGeometryTest {

    @Test
    void colStrideRoundsTheTapsUpToEight() {
        assertEquals(32, Im2colKernels.colStride(3, 3));      // stem conv1: 27 -> 32
        assertEquals(216, Im2colKernels.colStride(3, 24));    // stem conv2
        assertEquals(432, Im2colKernels.colStride(3, 48));
        assertEquals(1728, Im2colKernels.colStride(3, 192));
        assertEquals(8, Im2colKernels.colStride(1, 1));
        assertEquals(176, Im2colKernels.colStride(5, 7));     // 175
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.colStride(0, 3));
    }

    @Test
    void outSizeIsTorchs() {
        assertEquals(112, Im2colKernels.outSize(224, 3, 2, 1));
        assertEquals(7, Im2colKernels.outSize(14, 3, 2, 1));
        assertEquals(9, Im2colKernels.outSize(17, 3, 2, 1));
        assertEquals(4, Im2colKernels.outSize(11, 5, 3, 2));
        assertEquals(1, Im2colKernels.outSize(1, 3, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.outSize(1, 5, 1, 1));
    }

    @Test
    void im2colThreadsWrite16BytesWhenTheStrideAllows() {
        // stem conv1 bf16: 256*112*112 rows x 32 columns, 8 per thread: 12,544 blocks of units, capped at 8 per SM.
        assertEquals(LaunchGeometry.linear(8 * 132, 256), Im2colKernels.geometry(256 * 112 * 112, 32, 2, 132));
        assertEquals(LaunchGeometry.linear(8 * 16, 256), Im2colKernels.geometry(256 * 112 * 112, 32, 2, 16));
        // down3 bf16: 12,544 x 1728 / 8 = 2.7M units, still over the cap; batch 2 (21,168 units) is under it.
        assertEquals(LaunchGeometry.linear(8 * 132, 256), Im2colKernels.geometry(256 * 7 * 7, 1728, 2, 132));
        assertEquals(LaunchGeometry.linear(83, 256), Im2colKernels.geometry(2 * 7 * 7, 1728, 2, 132));
        assertEquals(LaunchGeometry.linear(1, 256), Im2colKernels.geometry(1, 32, 4, 132));      // 8 float4
        // scalar stores: one thread per element, not capped per SM (513 threads; 2000-column f32 rows to MAX_GRID).
        assertEquals(LaunchGeometry.linear(3, 256), Im2colKernels.geometry(19, 27, 2, 132));
        assertEquals(Im2colKernels.MAX_GRID, Im2colKernels.geometry(1 << 20, 2002, 4, 132).gridX());
        assertEquals(8 * 132, Im2colKernels.geometry(1 << 20, 2000, 4, 132).gridX());
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.geometry(1 << 20, 4096, 2, 132));
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.geometry(1, 32, 2, 0));
    }

    @Test
    void actAndHeadGeometry() {
        assertEquals(LaunchGeometry.linear(1, 256), ElementwiseKernels.geometry(1, 2));
        assertEquals(LaunchGeometry.linear(256 * 112 * 112 * 24 / 8 / 256, 256), ElementwiseKernels.geometry(256L * 112 * 112 * 24, 2));
        assertEquals(LaunchGeometry.linear(5, 256), ElementwiseKernels.geometry(1025 * 4 + 1, 4));  // 1026 float4
        assertThrows(IllegalArgumentException.class, () -> ElementwiseKernels.geometry(0, 4));

        assertEquals(new LaunchGeometry(256, 1, 1, 288, 1, 1, 288 * 4), HeadKernels.geometry(256, 49, 288));
        assertEquals(new LaunchGeometry(256, 1, 1, 576, 1, 1, 576 * 4), HeadKernels.geometry(256, 49, 576));
        assertEquals(new LaunchGeometry(3, 1, 1, 32, 1, 1, 4), HeadKernels.geometry(3, 1, 1));
        assertEquals(new LaunchGeometry(2, 1, 1, 1024, 1, 1, 1030 * 4), HeadKernels.geometry(2, 6, 1030));
        assertEquals(new LaunchGeometry(1, 1, 1, 1024, 1, 1, 0), HeadKernels.geometry(1, 4, 13_001));
        assertThrows(IllegalArgumentException.class, () -> HeadKernels.geometry(0, 49, 288));
    }
}
