package dev.mambaout.model.checkpoint;

import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsWriterTest {

    @TempDir
    Path dir;

    @Test
    void roundTripsEveryDtypeWithMetadata() throws Exception {
        double[] d = {Math.E, -1e-310, 12345.678, 0};
        float[] f = {1.5f, -0.1f, Float.MAX_VALUE};
        Path p = dir.resolve("rt.safetensors");
        new SafetensorsWriter().metadata("format", "pt").metadata("who", "test")
                .put("d64", DType.F64, d, 2, 2)
                .put("f32", DType.F32, f, 3)
                .put("d32", DType.F32, d, 4)
                .put("h16", DType.F16, new float[]{1, -2, 0.333251953125f, 65504}, 4)
                .put("b16", DType.BF16, new double[]{1, -3, 0.333984375}, 3)
                .put("l64", DType.I64, new long[]{Long.MIN_VALUE, 9}, 2)
                .put("l32", DType.I32, new long[]{-5, Integer.MAX_VALUE}, 2)
                .put("u8", DType.U8, new long[]{0, 255}, 2)
                .put("scalar", DType.F32, new float[]{7}) // shape [] holds one element
                .write(p);
        try (SafetensorsFile r = SafetensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt", "who", "test"), r.metadata());
            assertEquals(List.of("d64", "f32", "d32", "h16", "b16", "l64", "l32", "u8", "scalar"), List.copyOf(r.names()));
            assertEquals(List.of(2L, 2L), r.info("d64").shape());
            assertEquals(List.of(), r.info("scalar").shape());
            assertArrayEquals(d, r.readDoubles("d64"));
            assertArrayEquals(f, r.readFloats("f32"));
            assertArrayEquals(new float[]{(float) Math.E, -0f, 12345.678f, 0}, r.readFloats("d32"));
            assertArrayEquals(new double[]{1, -2, 0.333251953125, 65504}, r.readDoubles("h16"));
            assertArrayEquals(new double[]{1, -3, 0.333984375}, r.readDoubles("b16"));
            assertArrayEquals(new long[]{Long.MIN_VALUE, 9}, r.readLongs("l64"));
            assertArrayEquals(new long[]{-5, Integer.MAX_VALUE}, r.readLongs("l32"));
            assertArrayEquals(new long[]{0, 255}, r.readLongs("u8"));
            assertArrayEquals(new float[]{7}, r.readFloats("scalar"));
        }
        // The layout the spec asks for: length field, header padded with spaces to 8 bytes, data right after.
        byte[] raw = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8);
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{") && header.strip().endsWith("}"), header);
        long dataBytes = 32 + 12 + 16 + 8 + 6 + 16 + 8 + 2 + 4;
        assertEquals(8 + n + dataBytes, raw.length);
    }

    /** Round to nearest even at the bf16 boundary: 1 + 2^-8 is a tie (goes to 1), 1 + 3*2^-8 rounds up to 1 + 2^-6. */
    @Test
    void bf16RoundsToNearestEven() throws Exception {
        Path p = dir.resolve("b.safetensors");
        new SafetensorsWriter().put("b", DType.BF16, new float[]{1.00390625f, 1.01171875f, 1.0078125f}, 3).write(p);
        try (SafetensorsFile r = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[]{1.0f, 1.015625f, 1.0078125f}, r.readFloats("b"));
        }
    }

    @Test
    void badInputIsRefusedWithTheTensorNamed() {
        SafetensorsWriter w = new SafetensorsWriter();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.put("x", DType.F32, new float[3], 2, 2));
        assertTrue(e.getMessage().contains("'x': shape [2, 2] holds 4 elements but 3 values"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> w.put("x", DType.I64, new float[1], 1));
        assertTrue(e.getMessage().contains("floating dtype, got I64"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> w.put("x", DType.F32, new long[1], 1));
        assertTrue(e.getMessage().contains("integer dtype, got F32"), e.getMessage());
        w.put("x", DType.F32, new float[1], 1);
        e = assertThrows(IllegalArgumentException.class, () -> w.put("x", DType.F32, new float[1], 1));
        assertTrue(e.getMessage().contains("already added"), e.getMessage());
        SafetensorsWriter u8 = new SafetensorsWriter().put("u", DType.U8, new long[]{256}, 1);
        e = assertThrows(IllegalArgumentException.class, () -> u8.write(dir.resolve("u.safetensors")));
        assertTrue(e.getMessage().contains("'u'[0] = 256 does not fit U8"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve("u.safetensors")), "a failed write leaves no file behind");
    }
}
