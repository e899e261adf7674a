package dev.mambaout.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ModelStatsTest {

    /** Table 2 of Yu & Wang 2024 (MambaOut), MACs at 224x224, printed to one decimal. */
    @ParameterizedTest
    @CsvSource({"femto, 1.2", "kobe, 1.5", "tiny, 4.5", "small, 9.0", "base, 15.8"})
    void gmacsMatchThePaper(String variant, double paper) {
        double g = ModelStats.gmacs(MambaOutConfig.variant(variant), 224, 224);
        assertEquals(paper, Math.round(g * 10) / 10.0, variant + " counted " + g + " GMACs");
    }

    /**
     * Independent route to the conv + linear count: every conv or linear weight costs its element count once per
     * output position (Cout*Cin/groups*k*k, or out*in), and the positions follow from which grid the layer runs on.
     */
    @ParameterizedTest
    @CsvSource({"femto, 224, 224", "base_wide_rw, 224, 224", "small_rw, 288, 288", "tiny, 30, 17"})
    void convAndLinearEqualWeightElementsTimesOutputPositions(String variant, int h, int w) {
        MambaOutConfig c = MambaOutConfig.variant(variant);
        long expected = 0;
        for (ParameterSpec.Param p : ParameterSpec.of(c).params()) {
            if (!p.name().endsWith(".weight") || p.shape().size() < 2) continue;
            expected += p.numel() * positions(p.name(), h, w);
        }
        ModelStats.Macs m = ModelStats.count(c, h, w);
        assertEquals(expected, m.conv() + m.linear());
    }

    @Test
    void layerNormCountFollowsFvcoresFivePerElement() {
        // Hand count for a two-stage official model on 16x16: stem grids 8x8 and 4x4, stage 1 on 2x2.
        MambaOutConfig c = MambaOutConfig.official("t", List.of(1, 2), List.of(8, 16));
        long elements = 8 * 8 * 4          // stem.norm1 (mid norm) on 8x8, 4 channels
                + 4 * 4 * 8                // stem.norm2
                + 4 * 4 * 8                // stage 0, one block
                + 2 * 2 * 16               // stage 1 downsample norm (after the conv)
                + 2 * (2 * 2 * 16)         // stage 1, two blocks
                + 16 + 64;                 // head.norm, head.pre_logits.norm
        assertEquals(5 * elements, ModelStats.count(c, 16, 16).layerNorm());
        // The rw structure normalises before downsampling (input grid, input channels) and has no mid or pre-logits norm.
        MambaOutConfig rw = MambaOutConfig.rw("t", List.of(1, 2), List.of(8, 16), 3.0, 1.25,
                MambaOutConfig.Activation.SILU, 1.0);
        long rwElements = 4 * 4 * 8 + 4 * 4 * 8 + 4 * 4 * 8 + 2 * (2 * 2 * 16) + 16;
        assertEquals(5 * rwElements, ModelStats.count(rw, 16, 16).layerNorm());
    }

    @Test
    void paramsAreParameterSpecsCount() {
        assertEquals(7_304_536L, ModelStats.params(MambaOutConfig.variant("femto")));
    }

    @Test
    void rejectsEmptyImage() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ModelStats.count(MambaOutConfig.variant("femto"), 0, 224));
        assertEquals("image size must be positive, got 0x224", e.getMessage());
    }

    /** Output positions of the layer owning a weight: stem convs at /2 and /4, stage s at /2^(s+2), the head once. */
    private static long positions(String name, int h, int w) {
        if (name.startsWith("head.")) return 1;
        int halvings;
        if (name.startsWith("stem.conv1")) halvings = 1;
        else if (name.startsWith("stem.")) halvings = 2;
        else halvings = 2 + Integer.parseInt(name.split("\\.")[1]);
        for (int i = 0; i < halvings; i++) {
            h = (h + 1) / 2; // ceil: a 3x3 stride-2 conv with padding 1 keeps the odd edge
            w = (w + 1) / 2;
        }
        return (long) h * w;
    }
}
