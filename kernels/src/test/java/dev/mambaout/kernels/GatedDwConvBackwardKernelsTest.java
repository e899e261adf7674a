package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The gated_dwconv backward geometry worked out by hand: work units (image, strip, 8-column band) per 32-channel
 * chunk, min(units, ceil(528 / chunks)) conv blocks per chunk, the forward's pointwise items, a partial row set of
 * k*k + 1 rows per split.
 */
class GatedDwConvBackwardKernelsTest {

    @Test
    void femtoStagesAtBatch256() {
        // stage 1: 256 x 7 bands x 2 chunks = 3,584 >= 528: whole height; 1,792 units, 264 splits per chunk
        assertEquals(56, GatedDwConvKernels.backwardStripRows(256, 56, 56, 48));
        assertEquals(1_792, GatedDwConvKernels.backwardUnits(256, 56, 56, 48));
        assertEquals(264, GatedDwConvKernels.backwardSplits(256, 56, 56, 48));
        assertEquals(528, GatedDwConvKernels.backwardConvBlocks(256, 56, 56, 48));
        assertEquals(528 + (802_816L * 20 + 1023) / 1024,
                GatedDwConvKernels.backwardGeometry(256, 56, 56, 128, 48, 7, 4).gridX());
        assertEquals(264L * 50 * 48, GatedDwConvKernels.backwardWorkspaceFloats(256, 56, 56, 48, 7));
        assertEquals(75, GatedDwConvKernels.backwardReduceGeometry(48, 7).gridX());
        // stage 4: 9 chunks of 288, 256 units, ceil(528 / 9) = 59 splits
        assertEquals(7, GatedDwConvKernels.backwardStripRows(256, 7, 7, 288));
        assertEquals(59, GatedDwConvKernels.backwardSplits(256, 7, 7, 288));
        assertEquals(59L * 50 * 288, GatedDwConvKernels.backwardWorkspaceFloats(256, 7, 7, 288, 7));
    }

    @Test
    void smallBatchesSplitRowsAndSplitsNeverExceedUnits() {
        // 1 image x 2 bands x 1 chunk = 2 < 528: min(264, 41 / 8 = 5) = 5 strips of ceil(41 / 5) = 9 rows
        assertEquals(9, GatedDwConvKernels.backwardStripRows(1, 41, 9, 8));
        assertEquals(10, GatedDwConvKernels.backwardUnits(1, 41, 9, 8));
        assertEquals(10, GatedDwConvKernels.backwardSplits(1, 41, 9, 8));
        // fewer than 8 rows: one strip
        assertEquals(7, GatedDwConvKernels.backwardStripRows(1, 7, 7, 288));
        assertEquals(1, GatedDwConvKernels.backwardSplits(1, 1, 1, 20));
        // conv = hidden: no pointwise items
        assertEquals(GatedDwConvKernels.backwardConvBlocks(3, 5, 9, 37),
                GatedDwConvKernels.backwardGeometry(3, 5, 9, 37, 37, 3, 4).gridX());
    }

    @Test
    void onlyKernelSizesOneToSevenOdd() {
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.backwardWorkspaceFloats(1, 8, 8, 16, 9));
        assertThrows(IllegalArgumentException.class, () -> GatedDwConvKernels.backwardGeometry(1, 8, 8, 32, 16, 4, 4));
        assertEquals(GatedDwConvKernels.backwardSplits(1, 8, 8, 16) * 2L * 16,
                GatedDwConvKernels.backwardWorkspaceFloats(1, 8, 8, 16, 1));
    }
}
