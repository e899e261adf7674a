package dev.mambaout.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ParameterSpecTest {

    /** Counts printed by timm 1.0.29 (sum of p.numel() over timm.create_model(name).parameters()). */
    @ParameterizedTest
    @CsvSource({
            "femto, 7304536", "kobe, 9141208", "tiny, 26545096", "small, 48488072", "base, 84813092",
            "small_rw, 48495560", "base_short_rw, 88827688", "base_tall_rw, 86481448", "base_wide_rw, 94448104",
            "base_plus_rw, 101656552"})
    void parameterCountsEqualTimm(String variant, long expected) {
        assertEquals(expected, ParameterSpec.of(MambaOutConfig.variant(variant)).count());
    }
}
