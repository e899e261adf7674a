package dev.mambaout.model.checkpoint;

import dev.mambaout.model.Fixtures;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ParameterSpec;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyNamingTest {

    /** The reference is the fixture pair itself: make_fixtures.py wrote the same tensors under both namings. */
    @Test
    void officialFixtureKeysAreTheTimmKeysRenamed() throws Exception {
        try (SafetensorsFile timm = SafetensorsFile.open(Fixtures.resource("mini.safetensors"));
             SafetensorsFile official = SafetensorsFile.open(Fixtures.resource("mini.official.safetensors"))) {
            Set<String> renamed = new HashSet<>();
            for (String k : timm.names()) {
                String o = KeyNaming.OFFICIAL.fromTimm(k);
                assertTrue(official.contains(o), k + " -> " + o + " is not in the official file");
                assertEquals(timm.info(k).shape(), official.info(o).shape(), k);
                assertEquals(k, KeyNaming.OFFICIAL.toTimm(o));
                renamed.add(o);
            }
            assertEquals(official.names(), Set.copyOf(renamed));
            assertEquals(KeyNaming.TIMM, KeyNaming.detect(timm.names()));
            assertEquals(KeyNaming.OFFICIAL, KeyNaming.detect(official.names()));
        }
    }

    @Test
    void namesRoundTripForEveryVariant() {
        for (MambaOutConfig c : MambaOutConfig.VARIANTS) {
            List<String> timm = ParameterSpec.of(c).params().stream().map(ParameterSpec.Param::name).toList();
            List<String> official = timm.stream().map(KeyNaming.OFFICIAL::fromTimm).toList();
            assertEquals(timm.size(), Set.copyOf(official).size(), c.name() + ": official names collide");
            assertEquals(timm, official.stream().map(KeyNaming.OFFICIAL::toTimm).toList(), c.name());
            assertEquals(KeyNaming.OFFICIAL, KeyNaming.detect(official), c.name());
            assertEquals(KeyNaming.TIMM, KeyNaming.detect(timm), c.name());
        }
    }

    /** Hand-written pairs from the official repository's module names (independent of the mapping code). */
    @Test
    void knownOfficialNames() {
        String[][] pairs = {
                {"downsample_layers.0.conv1.weight", "stem.conv1.weight"},
                {"downsample_layers.0.norm2.bias", "stem.norm2.bias"},
                {"downsample_layers.3.conv.weight", "stages.3.downsample.conv.weight"},
                {"stages.2.11.fc1.weight", "stages.2.blocks.11.fc1.weight"},
                {"norm.weight", "head.norm.weight"},
                {"head.fc1.bias", "head.pre_logits.fc.bias"},
                {"head.norm.weight", "head.pre_logits.norm.weight"},
                {"head.fc2.weight", "head.fc.weight"},
        };
        for (String[] p : pairs) {
            assertEquals(p[1], KeyNaming.OFFICIAL.toTimm(p[0]));
            assertEquals(p[0], KeyNaming.OFFICIAL.fromTimm(p[1]));
        }
    }

    @Test
    void mixedNamingIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KeyNaming.detect(List.of("stem.conv1.weight", "downsample_layers.1.conv.weight")));
        assertTrue(e.getMessage().contains("mixes timm key names (e.g. 'stem.conv1.weight') with official ones"), e.getMessage());
    }

    @Test
    void wrapperPrefixOnlyWhenEveryKeyHasIt() {
        assertEquals("module.", KeyNaming.wrapperPrefix(List.of("module.stem.conv1.weight", "module.head.fc.bias")));
        assertEquals("model.", KeyNaming.wrapperPrefix(List.of("model.norm.weight")));
        assertEquals("", KeyNaming.wrapperPrefix(List.of("module.stem.conv1.weight", "head.fc.bias")));
    }
}
