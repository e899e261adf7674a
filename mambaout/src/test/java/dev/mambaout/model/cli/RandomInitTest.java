package dev.mambaout.model.cli;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ParameterSpec;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RandomInitTest {

    @Test
    void followsTimmsInitRules() {
        ParameterSpec spec = ParameterSpec.of(MambaOutConfig.variant("base_wide_rw"));
        Map<String, float[]> v = RandomInit.draw(spec, 7);
        assertEquals(spec.params().size(), v.size());
        for (ParameterSpec.Param p : spec.params()) assertEquals(p.numel(), v.get(p.name()).length, p.name());
        for (float x : v.get("stages.1.blocks.0.norm.weight")) assertEquals(1f, x);
        for (float x : v.get("stages.1.blocks.0.norm.bias")) assertEquals(0f, x);
        for (float x : v.get("stages.1.blocks.0.fc1.bias")) assertEquals(0f, x);
        for (float x : v.get("stages.1.blocks.0.conv.bias")) assertEquals(0f, x);
        for (float x : v.get("stages.1.blocks.0.ls.gamma")) assertEquals(1e-6f, x);
        // Sample statistics of a large weight: std 0.02 around 0 (260k draws: the std estimate is good to ~0.3%).
        float[] w = v.get("stages.3.blocks.0.fc1.weight");
        double mean = 0, sq = 0;
        for (float x : w) {
            mean += x;
            sq += (double) x * x;
        }
        mean /= w.length;
        double std = Math.sqrt(sq / w.length - mean * mean);
        assertTrue(Math.abs(mean) < 1e-4, "mean " + mean);
        assertEquals(0.02, std, 2e-4);
        // The depthwise conv is a Conv2d too: random, not constant.
        float[] dw = v.get("stages.0.blocks.0.conv.weight");
        assertTrue(dw[0] != dw[1]);
    }

    @Test
    void seedDeterminesTheDraw() {
        ParameterSpec spec = ParameterSpec.of(MambaOutConfig.variant("femto"));
        assertArrayEquals(RandomInit.draw(spec, 3).get("head.fc.weight"), RandomInit.draw(spec, 3).get("head.fc.weight"));
        assertTrue(RandomInit.draw(spec, 3).get("head.fc.weight")[0] != RandomInit.draw(spec, 4).get("head.fc.weight")[0]);
    }
}
