package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Geometry of cross_entropy and mean_hw_backward, worked out by hand from the rules in their .cu headers. */
class TrainingHeadKernelsGeometryTest {

    @Test
    void crossEntropyGivesARowEnoughWarpsForEightLogitsPerLane() {
        int[][] cases = {{1, 1}, {10, 1}, {37, 1}, {256, 1}, {257, 2}, {300, 2}, {512, 2}, {513, 4}, {1000, 4},
                {1024, 4}, {1025, 8}, {2048, 8}, {4099, 8}, {1 << 20, 8}};
        for (int[] c : cases) assertEquals(c[1], CrossEntropyKernels.rowWarps(c[0]), "classes=" + c[0]);
        assertEquals(LaunchGeometry.linear(32, 256), CrossEntropyKernels.rows(256, 10));      // 8 rows a block
        assertEquals(LaunchGeometry.linear(128, 256), CrossEntropyKernels.rows(256, 1000));   // 2 rows a block
        assertEquals(LaunchGeometry.linear(64, 256), CrossEntropyKernels.rows(128, 1000));
        assertEquals(LaunchGeometry.linear(1, 256), CrossEntropyKernels.rows(1, 1000));
        assertEquals(LaunchGeometry.linear(33, 256), CrossEntropyKernels.rows(257, 37));
        assertEquals(LaunchGeometry.linear(257, 256), CrossEntropyKernels.rows(257, 4099));    // a block a row
        assertEquals(LaunchGeometry.linear(1, 256), CrossEntropyKernels.mean());
        assertThrows(IllegalArgumentException.class, () -> CrossEntropyKernels.rows(0, 10));
        assertThrows(IllegalArgumentException.class, () -> CrossEntropyKernels.rowWarps(0));
    }

    @Test
    void meanHwBackwardGivesEachThreadFourRowsOfOneUnit() {
        assertEquals(36, HeadBackwardKernels.units(288, 2, true));   // 8 bf16 a unit
        assertEquals(72, HeadBackwardKernels.units(288, 4, true));   // 4 f32
        assertEquals(288, HeadBackwardKernels.units(288, 2, false)); // misaligned: elements
        assertEquals(37, HeadBackwardKernels.units(37, 4, true));    // C not a multiple of the vector
        assertEquals(12, HeadBackwardKernels.units(48, 4, true));
        // femto bf16, 224 px: 13 row steps x 36 units = 468 threads -> 2 blocks per image
        assertEquals(new LaunchGeometry(2, 256, 1, 256, 1, 1, 0), HeadBackwardKernels.geometry(256, 49, 288, 2, true));
        // tiny f32: 13 x 144 = 1872 -> 8
        assertEquals(new LaunchGeometry(8, 128, 1, 256, 1, 1, 0), HeadBackwardKernels.geometry(128, 49, 576, 4, true));
        // HW = 1 (Fashion-MNIST): one row
        assertEquals(new LaunchGeometry(1, 256, 1, 256, 1, 1, 0), HeadBackwardKernels.geometry(256, 1, 288, 2, true));
        // 3136 rows: 784 x 12 = 9408 -> 37
        assertEquals(new LaunchGeometry(37, 1, 1, 256, 1, 1, 0), HeadBackwardKernels.geometry(1, 3136, 48, 4, true));
        assertThrows(IllegalArgumentException.class, () -> HeadBackwardKernels.geometry(0, 49, 288, 2, true));
        assertThrows(IllegalArgumentException.class, () -> HeadBackwardKernels.geometry(65_536, 49, 288, 2, true));
        assertThrows(IllegalArgumentException.class, () -> HeadBackwardKernels.geometry(1, 49, 288, 8, true));
    }
}
