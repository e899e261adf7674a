package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gated_dwconv forward geometry worked out by hand from the kernels' rules (rings: 8 warp units per block, a unit
 * being (image, strip, band of 32 / LC x C columns, chunk of LC = 32 f32 or 16 bf16 channels), 6 ring rows per warp;
 * column: 256 threads of (image, strip, column, channel); 1024-unit pointwise items; strips below 2^18 columns).
 */
class GatedDwConvKernelsTest {

    private static final GatedDwConvKernels.Variant RINGS = GatedDwConvKernels.Variant.RINGS,
            COLUMN = GatedDwConvKernels.Variant.COLUMN;

    @Test
    void femtoStageOneAtBatch256TakesTheRingsAtFourColumnsOverTheWholeHeight() {
        // 256 x 56 x 48 = 688,128 columns >= 2^18: one strip of 56 rows.
        assertEquals(56, GatedDwConvKernels.stripRows(256, 56, 56, 48));
        // bf16: bands of 2 groups x 4 columns = 8 -> 7 bands x 3 chunks of 16 x 256 images = 5,376 units = 672
        // blocks >= 2 x 132; 802,816 tokens x 80 / 8 units / 1024 = 7,840 pointwise items.
        GatedDwConvKernels.ForwardPlan bf16 = GatedDwConvKernels.forward(256, 56, 56, 128, 48, 7, 2, true, 132);
        assertEquals(RINGS, bf16.variant());
        assertEquals(4, bf16.columns());
        assertEquals(56, bf16.stripRows());
        assertEquals(5_376L, GatedDwConvKernels.ringUnits(256, 56, 56, 48, 2, 56, 4));
        assertEquals(672 + 7_840, bf16.geometry().gridX());
        assertEquals(GatedDwConvKernels.BLOCK, bf16.geometry().blockX());
        // 8 warps x 6 rows x (8 + 6 input pixels + 8 g pixels) x 16 channels x 2 bytes
        assertEquals(8 * 6 * 22 * 16 * 2, bf16.geometry().sharedBytes());
        // f32: bands of 4 -> 14 bands x 2 chunks of 32 x 256 = 7,168 units = 896 blocks; 80 / 4 units per token
        GatedDwConvKernels.ForwardPlan f32 = GatedDwConvKernels.forward(256, 56, 56, 128, 48, 7, 4, true, 132);
        assertEquals(4, f32.columns());
        assertEquals(896 + 15_680, f32.geometry().gridX());
        assertEquals(8 * 6 * 14 * 32 * 4, f32.geometry().sharedBytes());   // 86,016: past the 48 KB default
        assertEquals((802_816L * 20 + 1023) / 1024, GatedDwConvKernels.pointwiseItems(256, 56, 56, 128, 48, 4));
    }

    @Test
    void smallBatchesSplitTheRowsIntoStripsAndTakeOneColumn() {
        // batch 1, femto stage 1: 2,688 columns -> min(ceil(262,144 / 2,688) = 98, ceil(56 / 4) = 14) = 14 strips of 4
        assertEquals(4, GatedDwConvKernels.stripRows(1, 56, 56, 48));
        // batch 1, tiny stage 4: 7 x 576 = 4,032 columns -> min(66, 2) = 2 strips of ceil(7 / 2) = 4 rows
        assertEquals(4, GatedDwConvKernels.stripRows(1, 7, 7, 576));
        // an image of 3 rows: ceil(3 / 4) = 1 strip
        assertEquals(3, GatedDwConvKernels.stripRows(1, 3, 5, 8));
        // 4 columns would give 14 strips x 7 bands x 3 chunks = 294 units = 37 blocks, under a wave of 2 x 132:
        // one column per lane, bands of 2: 14 x 28 x 3 = 1,176 units = 147 blocks, 15,360 bytes of ring
        GatedDwConvKernels.ForwardPlan b1 = GatedDwConvKernels.forward(1, 56, 56, 128, 48, 7, 2, true, 132);
        assertEquals(RINGS, b1.variant());
        assertEquals(1, b1.columns());
        assertEquals(147L, GatedDwConvKernels.ringConvBlocks(1, 56, 56, 48, 2, 4, 1));
        assertEquals(8 * 6 * 10 * 16 * 2, b1.geometry().sharedBytes());
        // on a card of 16 SMs the 37 wide blocks fill a wave
        assertEquals(4, GatedDwConvKernels.ringColumns(1, 56, 56, 48, 2, 4, 16));
        // the GPU test's 4-column case: 16 x 56 x 53, conv 40: 33,920 columns -> 8 strips of 7 rows; bf16 16 x 8 x
        // 7 bands x 3 chunks = 2,688 units = 336 blocks; f32 16 x 8 x 14 x 2 = 3,584 = 448
        assertEquals(4, GatedDwConvKernels.forward(16, 56, 53, 64, 40, 7, 2, true, 132).columns());
        assertEquals(4, GatedDwConvKernels.forward(16, 56, 53, 64, 40, 7, 4, true, 132).columns());
    }

    @Test
    void oddShapesMisalignedPointersAndOtherKernelsTakeTheColumnKernel() {
        assertEquals(1, GatedDwConvKernels.unitChannels(170, 80, 4));   // 170 % 4 != 0
        assertEquals(4, GatedDwConvKernels.unitChannels(96, 40, 4));
        assertEquals(8, GatedDwConvKernels.unitChannels(96, 40, 2));
        assertEquals(1, GatedDwConvKernels.unitChannels(96, 36, 2));    // 36 % 8 != 0
        assertTrue(GatedDwConvKernels.rings(96, 40, 7, 4, true));
        assertFalse(GatedDwConvKernels.rings(96, 40, 7, 4, false));     // misaligned x or out
        assertFalse(GatedDwConvKernels.rings(170, 80, 7, 4, true));
        assertFalse(GatedDwConvKernels.rings(96, 40, 9, 4, true));
        assertFalse(GatedDwConvKernels.rings(96, 40, 5, 4, true));      // rings for MambaOut's k = 7 only
        // column kernel: 2 images x 2 strips of 4 rows (2 x 7 x 80 < 2^18, ceil(7 / 4) = 2) x 7 x 80 channel-threads
        // / 256 per block + ceil(2 x 49 x 90 / 1024) pointwise items with scalar units
        assertEquals(4, GatedDwConvKernels.stripRows(2, 7, 7, 80));
        GatedDwConvKernels.ForwardPlan odd = GatedDwConvKernels.forward(2, 7, 7, 170, 80, 7, 4, true, 132);
        assertEquals(COLUMN, odd.variant());
        assertEquals((2L * 2 * 7 * 80 + 255) / 256 + (2L * 7 * 7 * 90 + 1023) / 1024, odd.geometry().gridX());
        assertEquals(0, odd.geometry().sharedBytes());
        assertEquals(0, GatedDwConvKernels.pointwiseItems(1, 9, 11, 64, 64, 4));
        // misaligned femto stage 1: the column kernel over 256 x 56 x 48 x 56 / 256 threads + the vector count of
        // pointwise items (its grid-stride loop covers the scalar units)
        GatedDwConvKernels.ForwardPlan mis = GatedDwConvKernels.forward(256, 56, 56, 128, 48, 7, 4, false, 132);
        assertEquals(COLUMN, mis.variant());
        assertEquals(2_688 + 15_680, mis.geometry().gridX());
        // 3 images of 1 x 1, 20 conv channels: rings, f32 = 3 units in 1 block + 1 pointwise item; k = 3: column,
        // 3 x 20 threads in one block + 1 item
        assertEquals(1 + 1, GatedDwConvKernels.forward(3, 1, 1, 40, 20, 7, 4, true, 132).geometry().gridX());
        assertEquals(1 + 1, GatedDwConvKernels.forward(3, 1, 1, 40, 20, 3, 4, true, 132).geometry().gridX());
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.ringBand(4, 2));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.ringGeometry(1, 7, 7, 170, 80, 4, 7, 1));
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
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.forward(1, 7, 7, 64, 0, 7, 4, true, 132));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.forward(1, 7, 7, 64, 65, 7, 4, true, 132));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.forward(0, 7, 7, 64, 32, 7, 4, true, 132));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.forward(1, 7, 7, 64, 32, 7, 4, true, 0));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.unitChannels(64, 32, 8));
    }
}
