package dev.mambaout.model.checkpoint;

import dev.mambaout.model.Fixtures;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointsTest {

    @TempDir
    Path dir;

    private static final ParameterSpec MINI = ParameterSpec.of(Fixtures.MINI);

    /** The fixture's tensors as written, read straight from the file without the loader. */
    private static Map<String, float[]> rawMini() throws Exception {
        Map<String, float[]> m = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.resource("mini.safetensors"))) {
            for (String n : f.names()) m.put(n, f.readFloats(n));
        }
        return m;
    }

    private static long[] shape(ParameterSpec.Param p) {
        return p.shape().stream().mapToLong(Integer::longValue).toArray();
    }

    @Test
    void strictLoadOfTimmAndOfficialNamesGivesTheSameTensors() throws Exception {
        Map<String, float[]> raw = rawMini();
        Checkpoints.Loaded<double[]> timm = Checkpoints.loadDoubles(Fixtures.resource("mini.safetensors"), MINI, Checkpoints.Mode.STRICT);
        Checkpoints.Loaded<float[]> official = Checkpoints.loadFloats(Fixtures.resource("mini.official.safetensors"), MINI, Checkpoints.Mode.STRICT);
        assertEquals(KeyNaming.TIMM, timm.naming());
        assertEquals(KeyNaming.OFFICIAL, official.naming());
        assertEquals(List.copyOf(MINI.byName().keySet()), List.copyOf(timm.values().keySet()));
        assertEquals(List.copyOf(MINI.byName().keySet()), List.copyOf(official.values().keySet()));
        for (ParameterSpec.Param p : MINI.params()) {
            float[] expected = raw.get(p.name());
            assertArrayEquals(expected, official.values().get(p.name()), p.name());
            double[] d = timm.values().get(p.name());
            assertEquals(expected.length, d.length);
            for (int i = 0; i < d.length; i++) assertEquals(expected[i], d[i], 0.0, p.name());
        }
        assertTrue(timm.reinitialized().isEmpty());
    }

    @Test
    void strictLoadListsEveryMissingUnexpectedAndMismatchedKey() throws Exception {
        Map<String, float[]> raw = rawMini();
        SafetensorsWriter w = new SafetensorsWriter();
        for (ParameterSpec.Param p : MINI.params()) {
            switch (p.name()) {
                case "stem.norm1.bias", "stages.2.blocks.1.fc2.weight" -> { } // dropped
                case "stages.0.blocks.0.conv.weight" -> w.put(p.name(), DType.F32, raw.get(p.name()), 16, 7, 7, 1);
                default -> w.put(p.name(), DType.F32, raw.get(p.name()), shape(p));
            }
        }
        w.put("stages.0.blocks.0.extra", DType.F32, new float[]{1}, 1);
        w.put("pos_embed", DType.F32, new float[]{1}, 1);
        Path p = dir.resolve("bad.safetensors");
        w.write(p);
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> Checkpoints.loadFloats(p, MINI, Checkpoints.Mode.STRICT));
        assertEquals(List.of("stem.norm1.bias", "stages.2.blocks.1.fc2.weight"), e.missing());
        assertEquals(List.of("stages.0.blocks.0.extra", "pos_embed"), e.unexpected());
        assertEquals(1, e.mismatched().size());
        String m = e.getMessage();
        assertTrue(m.contains("2 missing, 2 unexpected, 1 shape/dtype mismatches"), m);
        assertTrue(m.contains("stages.0.blocks.0.conv.weight: checkpoint [16, 7, 7, 1] vs model [16, 1, 7, 7]"), m);
        assertTrue(m.contains("stem.norm1.bias") && m.contains("pos_embed") && m.contains("stages.0.blocks.0.extra"), m);
    }

    @Test
    void officialKeysAreReportedUnderTheirFileNames() throws Exception {
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> Checkpoints.loadFloats(Fixtures.resource("mini.official.safetensors"),
                        ParameterSpec.of(Fixtures.MINI.withNumClasses(7)), Checkpoints.Mode.STRICT));
        assertTrue(e.getMessage().contains("head.fc.weight (file key 'head.fc2.weight'): checkpoint [10, 256] vs model [7, 256]"),
                e.getMessage());
        assertEquals(2, e.mismatched().size());
    }

    @Test
    void newHeadModeReplacesOnlyTheClassifier() throws Exception {
        Map<String, float[]> raw = rawMini();
        ParameterSpec spec7 = ParameterSpec.of(Fixtures.MINI.withNumClasses(7));
        Checkpoints.Loaded<double[]> l = Checkpoints.loadDoubles(Fixtures.resource("mini.safetensors"), spec7, Checkpoints.Mode.NEW_HEAD);
        assertEquals(List.of("head.fc.weight", "head.fc.bias"), l.reinitialized());
        assertEquals(7 * 256, l.values().get("head.fc.weight").length);
        assertArrayEquals(new double[7], l.values().get("head.fc.bias"));
        double sum = 0, sq = 0;
        for (double v : l.values().get("head.fc.weight")) { sum += v; sq += v * v; }
        double n = 7 * 256, std = Math.sqrt(sq / n - (sum / n) * (sum / n));
        assertEquals(0.02, std, 0.003, "timm initialises a new classifier with std 0.02");
        assertEquals(raw.get("head.pre_logits.fc.weight")[5], l.values().get("head.pre_logits.fc.weight")[5], 0.0);
        // the classifier is the only thing lenient mode forgives
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> Checkpoints.loadDoubles(Fixtures.resource("mini.safetensors"), ParameterSpec.of(Fixtures.MINI_RW),
                        Checkpoints.Mode.NEW_HEAD));
        assertTrue(e.missing().contains("stages.0.blocks.0.ls.gamma"), e.getMessage());
        assertTrue(e.unexpected().contains("stem.norm1.weight"), e.getMessage());
    }

    @Test
    void wrapperPrefixIsStripped() throws Exception {
        Map<String, float[]> raw = rawMini();
        SafetensorsWriter w = new SafetensorsWriter();
        for (ParameterSpec.Param p : MINI.params()) {
            w.put("module." + KeyNaming.OFFICIAL.fromTimm(p.name()), DType.F32, raw.get(p.name()), shape(p));
        }
        Path p = dir.resolve("ddp.safetensors");
        w.write(p);
        Checkpoints.Loaded<float[]> l = Checkpoints.loadFloats(p, MINI, Checkpoints.Mode.STRICT);
        assertEquals("module.", l.prefix());
        assertEquals(KeyNaming.OFFICIAL, l.naming());
        assertArrayEquals(raw.get("head.norm.weight"), l.values().get("head.norm.weight"));
    }

    @Test
    void shardedCheckpointLoadsLikeTheSingleFile() throws Exception {
        Map<String, float[]> raw = rawMini();
        SafetensorsWriter[] shards = {new SafetensorsWriter(), new SafetensorsWriter(), new SafetensorsWriter()};
        StringBuilder map = new StringBuilder();
        int i = 0;
        for (ParameterSpec.Param p : MINI.params()) {
            int s = i++ % 3;
            shards[s].put(p.name(), DType.F32, raw.get(p.name()), shape(p));
            map.append(map.isEmpty() ? "" : ",").append('"').append(p.name()).append("\":\"model-0000").append(s + 1).append("-of-00003.safetensors\"");
        }
        Path sub = Files.createDirectory(dir.resolve("sharded"));
        for (int s = 0; s < 3; s++) shards[s].write(sub.resolve("model-0000" + (s + 1) + "-of-00003.safetensors"));
        Files.writeString(sub.resolve(ShardedSafetensors.INDEX_NAME),
                "{\"metadata\": {\"total_size\": 1234}, \"weight_map\": {" + map + "}}");
        try (TensorSource src = TensorSource.open(sub)) {
            assertTrue(src instanceof ShardedSafetensors);
            assertEquals("1234", src.metadata().get("total_size"));
            Checkpoints.Loaded<float[]> l = Checkpoints.loadFloats(src, MINI, Checkpoints.Mode.STRICT);
            for (ParameterSpec.Param p : MINI.params()) assertArrayEquals(raw.get(p.name()), l.values().get(p.name()), p.name());
        }
    }

    @Test
    void saveThenLoadRoundTripsInBothNamings() throws Exception {
        Map<String, double[]> values = Checkpoints.loadDoubles(Fixtures.resource("mini.safetensors"), MINI, Checkpoints.Mode.STRICT).values();
        for (KeyNaming naming : KeyNaming.values()) {
            Path p = dir.resolve(naming + ".safetensors");
            Checkpoints.save(p, MINI, values, DType.F64, naming);
            Checkpoints.Loaded<double[]> back = Checkpoints.loadDoubles(p, MINI, Checkpoints.Mode.STRICT);
            assertEquals(naming, back.naming());
            for (String n : values.keySet()) assertArrayEquals(values.get(n), back.values().get(n), n);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertEquals("pt", f.metadata().get("format"));
            }
        }
    }

    @Test
    void integerTensorInPlaceOfAParameterIsAMismatch() throws Exception {
        Map<String, float[]> raw = rawMini();
        SafetensorsWriter w = new SafetensorsWriter();
        for (ParameterSpec.Param p : MINI.params()) {
            if (p.name().equals("head.fc.bias")) w.put(p.name(), DType.I64, new long[10], 10);
            else w.put(p.name(), DType.F32, raw.get(p.name()), shape(p));
        }
        Path p = dir.resolve("int.safetensors");
        w.write(p);
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> Checkpoints.loadFloats(p, MINI, Checkpoints.Mode.NEW_HEAD));
        assertEquals(List.of("head.fc.bias: checkpoint dtype I64 is not floating point"), e.mismatched());
    }
}
