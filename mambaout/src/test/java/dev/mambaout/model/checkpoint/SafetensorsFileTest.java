package dev.mambaout.model.checkpoint;

import dev.mambaout.model.Fixtures;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    /** Every dtype decoded from hand-written little-endian bytes with values whose encodings are known exactly. */
    @Test
    void decodesEveryDtypeFromHandWrittenBytes() throws Exception {
        // F16 0x3C00 = 1.0, 0xC000 = -2.0, 0x3555 = 0.333251953125; BF16 0x3F80 = 1.0, 0xC040 = -3.0, 0x3EAB = 0.333984375
        byte[] data = RawFiles.le(8 + 16 + 6 + 6 + 16 + 8 + 3, b -> {
            b.putFloat(1.5f).putFloat(-0.25f);
            b.putDouble(Math.PI).putDouble(-1e300);
            b.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x3555);
            b.putShort((short) 0x3F80).putShort((short) 0xC040).putShort((short) 0x3EAB);
            b.putLong(-7).putLong(1L << 40);
            b.putInt(123456).putInt(-5);
            b.put((byte) 0).put((byte) 200).put((byte) 255);
        });
        String header = """
                {"__metadata__":{"format":"pt","note":"x"},
                 "f32":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                 "f64":{"dtype":"F64","shape":[2,1],"data_offsets":[8,24]},
                 "f16":{"dtype":"F16","shape":[3],"data_offsets":[24,30]},
                 "bf16":{"dtype":"BF16","shape":[1,3],"data_offsets":[30,36]},
                 "i64":{"dtype":"I64","shape":[2],"data_offsets":[36,52]},
                 "i32":{"dtype":"I32","shape":[2],"data_offsets":[52,60]},
                 "u8":{"dtype":"U8","shape":[3],"data_offsets":[60,63]},
                 "empty":{"dtype":"F32","shape":[0,4],"data_offsets":[63,63]}}""";
        Path p = RawFiles.file(dir, "all.safetensors", header, data);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("f32", "f64", "f16", "bf16", "i64", "i32", "u8", "empty"), List.copyOf(f.names()));
            assertEquals("pt", f.metadata().get("format"));
            assertEquals(new TensorInfo("f64", DType.F64, List.of(2L, 1L), 8, 24), f.info("f64"));
            assertArrayEquals(new float[]{1.5f, -0.25f}, f.readFloats("f32"));
            assertArrayEquals(new double[]{1.5, -0.25}, f.readDoubles("f32"));
            assertArrayEquals(new double[]{Math.PI, -1e300}, f.readDoubles("f64"));
            assertArrayEquals(new float[]{(float) Math.PI, Float.NEGATIVE_INFINITY}, f.readFloats("f64"));
            assertArrayEquals(new double[]{1.0, -2.0, 0.333251953125}, f.readDoubles("f16"));
            assertArrayEquals(new double[]{1.0, -3.0, 0.333984375}, f.readDoubles("bf16"));
            assertArrayEquals(new long[]{-7, 1L << 40}, f.readLongs("i64"));
            assertArrayEquals(new long[]{123456, -5}, f.readLongs("i32"));
            assertArrayEquals(new long[]{0, 200, 255}, f.readLongs("u8"));
            assertEquals(0, f.readFloats("empty").length);
            assertEquals(8, f.segment("f32").byteSize());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.readLongs("f32"));
            assertTrue(e.getMessage().contains("'f32' is F32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.info("nope"));
            assertTrue(e.getMessage().contains("no tensor named 'nope'"), e.getMessage());
        }
    }

    @Test
    void readsTheMiniFixtureUnderTimmNames() throws Exception {
        ParameterSpec spec = ParameterSpec.of(Fixtures.MINI);
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.resource("mini.safetensors"))) {
            assertEquals(spec.byName().keySet(), f.names());
            for (ParameterSpec.Param p : spec.params()) {
                TensorInfo t = f.info(p.name());
                assertEquals(DType.F32, t.dtype(), p.name());
                assertTrue(t.hasShape(p.shape()), p.name() + " " + t.shape() + " vs " + p.shape());
            }
        }
        try (TensorSource ref = TensorSource.open(Fixtures.resource("mini.reference.safetensors"))) {
            assertEquals(List.of(2L, 3L, 64L, 64L), ref.info("input").shape());
            assertEquals(DType.I64, ref.info("labels").dtype());
            for (long label : ref.readLongs("labels")) assertTrue(label >= 0 && label < 10, "label " + label);
        }
    }

    @Test
    void readsTheBf16FemtoCheckpoint() throws Exception {
        Path femto = Fixtures.shared("femto.safetensors");
        ParameterSpec spec = ParameterSpec.of(Fixtures.FEMTO);
        try (SafetensorsFile f = SafetensorsFile.open(femto)) {
            long total = 0;
            for (String n : f.names()) {
                assertEquals(DType.BF16, f.info(n).dtype(), n);
                total += f.info(n).numel();
            }
            assertEquals(spec.count(), total);
            // A BF16 value widened to float has its low 16 mantissa bits clear.
            for (float v : f.readFloats("stages.2.blocks.8.fc1.weight")) {
                assertEquals(0, Float.floatToRawIntBits(v) & 0xffff);
            }
        }
    }

    /**
     * A sparse 2.5 GB file: the second tensor starts beyond 2^31, where a ByteBuffer-based reader would fail. The
     * first tensor is too large for a Java array and is refused with a pointer to segment(name).
     */
    @Test
    void filesBeyondTwoGigabytesAreRead() throws Exception {
        long big = 2_500_000_000L;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path p = dir.resolve("sparse.safetensors");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p,
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(8 + h.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            head.putLong(h.length).put(h).flip();
            ch.write(head, 0);
            java.nio.ByteBuffer tail = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(3.25f).putFloat(-7f).flip();
            ch.write(tail, 8 + h.length + big);
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[]{3.25f, -7f}, f.readFloats("tail"));
            assertEquals(big, f.segment("big").byteSize());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.readLongs("big"));
            assertTrue(e.getMessage().contains("2500000000 elements, more than a Java array holds; use segment(name)"), e.getMessage());
        }
    }

    @Test
    void closedFileRefusesReads() throws Exception {
        SafetensorsFile f = SafetensorsFile.open(Fixtures.resource("mini.safetensors"));
        f.close();
        f.close();
        assertThrows(IllegalStateException.class, () -> f.readFloats("stem.conv1.bias"));
    }
}
