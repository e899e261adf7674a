package dev.mambaout.model.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageNetLabelsTest {

    @Test
    void thousandNonEmptyNearlyUniqueLabels() {
        List<String> all = ImageNetLabels.all();
        assertEquals(1000, all.size());
        for (String s : all) assertFalse(s.isBlank());
        // The standard list repeats exactly two names: crane (bird 134, machine 517) and maillot (638, 639).
        assertEquals(998, new HashSet<>(all).size());
    }

    /** Well-known indices of the ILSVRC-2012 class order (synsets sorted by WordNet id). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|tench", "1|goldfish", "2|great white shark", "7|cock", "134|crane", "207|golden retriever",
            "281|tabby", "291|lion", "340|zebra", "388|giant panda", "404|airliner", "517|crane", "817|sports car",
            "920|traffic light", "948|Granny Smith", "954|banana", "999|toilet tissue"})
    void spotChecks(int index, String label) {
        assertEquals(label, ImageNetLabels.get(index));
    }

    @Test
    void outOfRangeIndexIsNamed() {
        var e = assertThrows(IndexOutOfBoundsException.class, () -> ImageNetLabels.get(1000));
        assertTrue(e.getMessage().contains("1000"), e.getMessage());
    }
}
