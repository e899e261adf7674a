package dev.mambaout.model.checkpoint;

import dev.mambaout.graph.DType;
import dev.mambaout.model.Fixtures;
import dev.mambaout.model.ParameterSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoints that are valid files but wrong in content: non-finite weights, and far too many stray keys. */
class CheckpointContentTest {

    @TempDir Path dir;

    private static final ParameterSpec MINI = ParameterSpec.of(Fixtures.MINI);

    private static Map<String, float[]> values() {
        Map<String, float[]> v = new LinkedHashMap<>();
        for (ParameterSpec.Param p : MINI.params()) v.put(p.name(), new float[Math.toIntExact(p.numel())]);
        return v;
    }

    @Test
    void nonFiniteWeightsAreRefusedNamingTheTensor() throws Exception {
        String victim = MINI.params().get(3).name();
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            for (DType dtype : new DType[]{DType.F32, DType.F16, DType.BF16}) {
                Map<String, float[]> v = values();
                v.get(victim)[v.get(victim).length - 1] = bad;
                Path p = dir.resolve("bad-" + dtype + ".safetensors");
                Checkpoints.save(p, MINI, v, dtype, KeyNaming.TIMM);
                for (boolean doubles : new boolean[]{false, true}) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                        if (doubles) Checkpoints.loadDoubles(p, MINI, Checkpoints.Mode.STRICT);
                        else Checkpoints.loadFloats(p, MINI, Checkpoints.Mode.STRICT);
                    });
                    assertTrue(e.getMessage().contains("tensor '" + victim + "' holds 1 of " + v.get(victim).length
                            + " values that are not finite") && e.getMessage().contains(p.toString()), e.getMessage());
                }
            }
        }
    }

    @Test
    void mismatchReportListsTheFirstFewOfEachKind() throws Exception {
        SafetensorsWriter w = new SafetensorsWriter();
        for (int i = 0; i < 5000; i++) w.put("stray." + i, DType.F32, new float[]{0}, 1);
        Path p = dir.resolve("stray.safetensors");
        w.write(p);
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> Checkpoints.loadFloats(p, MINI, Checkpoints.Mode.STRICT));
        assertEquals(5000, e.unexpected().size());
        assertEquals(MINI.params().size(), e.missing().size());
        long lines = e.getMessage().lines().count();
        assertTrue(lines <= 1 + 2 * (1 + CheckpointMismatchException.LISTED_PER_SECTION + 1), "lines: " + lines);
        assertTrue(e.getMessage().contains("... and " + (5000 - CheckpointMismatchException.LISTED_PER_SECTION) + " more"),
                e.getMessage());
    }
}
