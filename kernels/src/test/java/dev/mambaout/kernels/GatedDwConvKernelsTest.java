package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gated_dwconv geometry worked out by hand from the kernel's rules (staged blocks of 8 warps, 8 / cw along a band
 * of 2-column lanes and cw across 32-channel warps, else 256 threads of (image, strip, column, channel); 1024-unit
 * pointwise items; strips below 2^18 columns).
 */
class GatedDwConvKernelsTest {

    @Test
    void femtoStageOneAtBatch256IsStagedOverTheWholeHeight() {
        // 256 x 56 x 48 = 688,128 columns >= 2^18: one strip of 56 rows.
        assertEquals(56, GatedDwConvKernels.stripRows(256, 56, 56, 48));
        // 56 columns, 48 channels: cw 1 = 4 bands of 16 x 2 chunks of 32 = 8 blocks, cw 2 = 7 bands of 8 x 1 chunk of
        // 64 = 7, cw 4 = 14 bands of 4 x 1 chunk of 128 = 14 -> cw 2; 802,816 tokens x 80/4 float4 units / 1024.
        assertEquals(2, GatedDwConvKernels.chunkWarps(56, 48, 2));
        GatedDwConvKernels.StagedLayout wide = GatedDwConvKernels.stagedLayout(256, 56, 56, 48, 56, 132);
        assertEquals(new GatedDwConvKernels.StagedLayout(2, 2), wide);
        assertEquals(256L * 7, GatedDwConvKernels.convBlocks(256, 56, 56, 128, 48, 7, 4, 56, wide));
        assertEquals((802_816L * 20 + 1023) / 1024, GatedDwConvKernels.pointwiseItems(256, 56, 56, 128, 48, 4));
        assertEquals((802_816L * 10 + 1023) / 1024, GatedDwConvKernels.pointwiseItems(256, 56, 56, 128, 48, 2));
        LaunchGeometry g = GatedDwConvKernels.geometry(256, 56, 56, 128, 48, 7, 4, 132);
        // the grid also covers the column path that a misaligned x or out takes: 256 x 56 x 48 x 56 / 256 blocks
        assertEquals(2_688L, GatedDwConvKernels.columnBlocks(256, 56, 56, 48, 56));
        assertEquals(2_688 + 15_680, g.gridX());
        assertEquals(GatedDwConvKernels.BLOCK, g.blockX());
        assertEquals(0, g.sharedBytes());   // the ring is static shared memory
    }

    @Test
    void smallBatchesSplitTheRowsIntoStrips() {
        // batch 1, femto stage 1: 2,688 columns -> min(ceil(262,144 / 2,688) = 98, ceil(56 / 4) = 14) = 14 strips of 4
        assertEquals(4, GatedDwConvKernels.stripRows(1, 56, 56, 48));
        // batch 1, tiny stage 4: 7 x 576 = 4,032 columns -> min(66, 2) = 2 strips of ceil(7 / 2) = 4 rows
        assertEquals(4, GatedDwConvKernels.stripRows(1, 7, 7, 576));
        // an image of 3 rows: ceil(3 / 4) = 1 strip
        assertEquals(3, GatedDwConvKernels.stripRows(1, 3, 5, 8));
        // the wide layout would give 14 strips x 7 bands x 1 chunk = 98 blocks, under a wave of 2 x 132: one column
        // per lane, then cw 1 (7 bands of 8 x 2 chunks = 14) ties cw 2 (14 bands of 4 x 1 chunk): 14 x 14 blocks
        GatedDwConvKernels.StagedLayout narrow = GatedDwConvKernels.stagedLayout(1, 56, 56, 48, 4, 132);
        assertEquals(new GatedDwConvKernels.StagedLayout(1, 1), narrow);
        assertEquals(14L * 14, GatedDwConvKernels.convBlocks(1, 56, 56, 128, 48, 7, 2, 4, narrow));
        // on a card of 40 SMs the 98 wide blocks fill a wave
        assertEquals(2, GatedDwConvKernels.stagedLayout(1, 56, 56, 48, 4, 40).columns());
    }

    @Test
    void narrowImagesSpreadTheWarpsAcrossTheChannels() {
        // 28 x 96 (femto 2): cw 1 = 2 bands x 3 chunks = 6 beats cw 2 = 4 x 2 = 8
        assertEquals(1, GatedDwConvKernels.chunkWarps(28, 96, 2));
        // 14 x 192 (femto 3): cw 1 = 1 x 6 = 6 ties cw 2 = 2 x 3 = 6: the first (longer band) stays
        assertEquals(1, GatedDwConvKernels.chunkWarps(14, 192, 2));
        // 7 x 288 (femto 4): cw 1 = 1 x 9, cw 2 = 1 x 5 -> cw 2
        assertEquals(2, GatedDwConvKernels.chunkWarps(7, 288, 2));
        // one column per lane: 7 x 288 -> cw 1 = 1 band of 8 x 9 chunks, cw 2 = 2 bands of 4 x 5 = 10 -> cw 1
        assertEquals(1, GatedDwConvKernels.chunkWarps(7, 288, 1));
        assertEquals(16, new GatedDwConvKernels.StagedLayout(1, 2).bandColumns());
        assertEquals(8, new GatedDwConvKernels.StagedLayout(2, 2).bandColumns());
        assertEquals(4, new GatedDwConvKernels.StagedLayout(2, 1).bandColumns());
        assertThrows(IllegalArgumentException.class, () -> new GatedDwConvKernels.StagedLayout(4, 2));
        assertThrows(IllegalArgumentException.class, () -> new GatedDwConvKernels.StagedLayout(1, 3));
    }

    @Test
    void oddShapesAndLargeKernelsTakeTheColumnPath() {
        assertEquals(1, GatedDwConvKernels.unitChannels(170, 80, 4));   // 170 % 4 != 0
        assertEquals(4, GatedDwConvKernels.unitChannels(96, 40, 4));
        assertEquals(8, GatedDwConvKernels.unitChannels(96, 40, 2));
        assertEquals(1, GatedDwConvKernels.unitChannels(96, 36, 2));    // 36 % 8 != 0
        assertTrue(GatedDwConvKernels.staged(96, 40, 7, 4));
        assertFalse(GatedDwConvKernels.staged(170, 80, 7, 4));
        assertFalse(GatedDwConvKernels.staged(96, 40, 9, 4));
        assertFalse(GatedDwConvKernels.staged(96, 40, 5, 4));   // staged for MambaOut's k = 7 only
        // column path: 2 images x 7 x 7 x 80 channel-threads / 256 per block, one strip (2 x 7 x 80 < 2^18, but
        // ceil(7 / 4) = 2 strips of 4 rows)
        assertEquals(4, GatedDwConvKernels.stripRows(2, 7, 7, 80));
        assertEquals((2L * 2 * 7 * 80 + 255) / 256, GatedDwConvKernels.convBlocks(2, 7, 7, 170, 80, 7, 4, 4,
                GatedDwConvKernels.stagedLayout(2, 7, 7, 80, 4, 132)));
        assertEquals(0, GatedDwConvKernels.pointwiseItems(1, 9, 11, 64, 64, 4));
        assertEquals((2L * 7 * 7 * 90 + 1023) / 1024, GatedDwConvKernels.pointwiseItems(2, 7, 7, 170, 80, 4));
        // 3 images of 1 x 1, 20 conv channels (staged: 1 band x 1 chunk each) + 1 pointwise item
        assertEquals(3 + 1, GatedDwConvKernels.geometry(3, 1, 1, 40, 20, 7, 4, 132).gridX());
        // k = 3 takes the column path: 3 x 20 threads in one block + 1 pointwise item
        assertEquals(1 + 1, GatedDwConvKernels.geometry(3, 1, 1, 40, 20, 3, 4, 132).gridX());
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
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.geometry(1, 7, 7, 64, 0, 7, 4, 132));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.geometry(1, 7, 7, 64, 65, 7, 4, 132));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.geometry(0, 7, 7, 64, 32, 7, 4, 132));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.unitChannels(64, 32, 8));
    }
}
