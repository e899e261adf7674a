package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The gated_dwconv geometry worked out by hand from the kernel's item rule (gd_tile, 32-channel chunks, 1024 units). */
class GatedDwConvKernelsTest {

    @Test
    void tilesSplitAnExtentIntoEqualPiecesOfAtMostEight() {
        assertEquals(8, GatedDwConvKernels.tile(56));
        assertEquals(7, GatedDwConvKernels.tile(28));
        assertEquals(7, GatedDwConvKernels.tile(14));
        assertEquals(7, GatedDwConvKernels.tile(7));
        assertEquals(7, GatedDwConvKernels.tile(13));
        assertEquals(1, GatedDwConvKernels.tile(1));
        assertEquals(5, GatedDwConvKernels.tile(9));
    }

    @Test
    void femtoStageOneAtBatch256() {
        // 256 images x 7 x 7 tiles x 2 chunks (48 channels) conv items; 802,816 tokens x 80/4 float4 units / 1024.
        assertEquals(256L * 49 * 2, GatedDwConvKernels.convItems(256, 56, 56, 48));
        assertEquals((802_816L * 20 + 1023) / 1024, GatedDwConvKernels.pointwiseItems(256, 56, 56, 128, 48, 4));
        assertEquals((802_816L * 10 + 1023) / 1024, GatedDwConvKernels.pointwiseItems(256, 56, 56, 128, 48, 2));
        LaunchGeometry g = GatedDwConvKernels.geometry(256, 56, 56, 128, 48, 4);
        assertEquals(25_088 + 15_680, g.gridX());
        assertEquals(GatedDwConvKernels.BLOCK, g.blockX());
        assertEquals(0, g.sharedBytes());
    }

    @Test
    void oddShapesTakeScalarUnitsAndConvEqualToHiddenHasNoPointwiseItems() {
        assertEquals(1, GatedDwConvKernels.unitChannels(170, 80, 4));   // 170 % 4 != 0
        assertEquals(4, GatedDwConvKernels.unitChannels(96, 40, 4));
        assertEquals(8, GatedDwConvKernels.unitChannels(96, 40, 2));
        assertEquals(1, GatedDwConvKernels.unitChannels(96, 36, 2));    // 36 % 8 != 0
        assertEquals(0, GatedDwConvKernels.pointwiseItems(1, 9, 11, 64, 64, 4));
        assertEquals((2L * 7 * 7 * 90 + 1023) / 1024, GatedDwConvKernels.pointwiseItems(2, 7, 7, 170, 80, 4));
        assertEquals(3 + 1, GatedDwConvKernels.geometry(3, 1, 1, 40, 20, 4).gridX());   // 3 conv items + 1 pointwise
    }

    @Test
    void repacksPyTorchsDepthwiseWeightTapMajor() {
        // [C=2, 1, 3, 3]: channel 0 = 0..8, channel 1 = 10..18 -> [9 taps, 2 channels]
        float[] torch = new float[18];
        for (int i = 0; i < 9; i++) {
            torch[i] = i;
            torch[9 + i] = 10 + i;
        }
        float[] packed = GatedDwConvKernels.packTapMajor(torch, 2, 3);
        float[] want = new float[18];
        for (int tap = 0; tap < 9; tap++) {
            want[2 * tap] = tap;
            want[2 * tap + 1] = 10 + tap;
        }
        assertArrayEquals(want, packed);
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.packTapMajor(new float[17], 2, 3));
    }

    @Test
    void rejectsImpossibleSizes() {
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.geometry(1, 7, 7, 64, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.geometry(1, 7, 7, 64, 65, 4));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.geometry(0, 7, 7, 64, 32, 4));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.unitChannels(64, 32, 8));
    }
}
