package dev.mambaout.model.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Corrupt and hostile files, each built here byte by byte: every one must be refused with a
 * {@link SafetensorsFormatException} whose message names the problem (never an OutOfMemoryError, an index exception
 * or a JVM crash).
 */
class HostileFileTest {

    @TempDir
    Path dir;

    private void assertRejected(Path p, String... expectedFragments) {
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> {
            try (SafetensorsFile ignored = SafetensorsFile.open(p)) {
                // opening alone must already fail
            }
        });
        assertTrue(e.getMessage().contains(p.toString()), "message names the file: " + e.getMessage());
        for (String f : expectedFragments) {
            assertTrue(e.getMessage().contains(f), "expected '" + f + "' in: " + e.getMessage());
        }
    }

    private static byte[] zeros(int n) {
        return new byte[n];
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[]{1, 2, 3});
        assertRejected(p, "3 bytes long", "shorter than the 8-byte header length");
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        assertRejected(RawFiles.file(dir, "a", 1000, h, zeros(0)), "header length 1000 runs past the end", "2 bytes follow");
    }

    @Test
    void headerLengthWithTheSignBitSet() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        assertRejected(RawFiles.file(dir, "a", -8, h, zeros(0)), "header length 18446744073709551608 runs past the end");
    }

    /** A sparse file over the cap: the header length is inside the file but too large to read into memory. */
    @Test
    void headerLengthOverTheCap() throws IOException {
        Path p = dir.resolve("huge.safetensors");
        long n = SafetensorsFile.MAX_HEADER_BYTES + 1;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n));
            ch.write(ByteBuffer.wrap(new byte[]{'{'}), 8 + n);
        }
        assertRejected(p, "header length " + n + " exceeds the limit of " + SafetensorsFile.MAX_HEADER_BYTES);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "malformed JSON      | {\"a\": {\"dtype\": \"F32\",                                                  | not well-formed JSON",
            "trailing garbage    | {} {}                                                                          | not well-formed JSON",
            "not an object       | [1, 2]                                                                         | first byte is '{' (the reference reader's rule), but its first byte is 0x5B",
            "leading whitespace  | ` {}`                                                                          | but its first byte is 0x20",
            "entry not an object | {\"a\": 5}                                                                     | tensor 'a': entry must be an object",
            "missing dtype       | {\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}                            | tensor 'a': entry lacks dtype",
            "missing all         | {\"a\": {}}                                                                    | tensor 'a': entry lacks dtype, shape, data_offsets",
            "unknown dtype       | {\"a\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}     | unknown dtype 'F8_E4M3'",
            "dtype not a string  | {\"a\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}              | dtype must be a string",
            "shape not an array  | {\"a\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}}          | shape must be an array",
            "negative dimension  | {\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}       | not a non-negative 64-bit integer",
            "fractional dim      | {\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}      | not a non-negative 64-bit integer",
            "dim beyond 64 bits  | {\"a\": {\"dtype\": \"F32\", \"shape\": [99999999999999999999999], \"data_offsets\": [0, 4]}} | not a non-negative 64-bit integer",
            "element overflow    | {\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 4]}} | more elements than a 64-bit count holds",
            "byte overflow       | {\"a\": {\"dtype\": \"F64\", \"shape\": [2305843009213693952], \"data_offsets\": [0, 4]}} | more bytes than a 64-bit size holds",
            "huge declared size  | {\"a\": {\"dtype\": \"F32\", \"shape\": [1099511627776], \"data_offsets\": [0, 4398046511104]}} | run past the end of the data area (4 bytes)",
            "offsets past end    | {\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}        | data_offsets [0,8] run past the end of the data area (4 bytes)",
            "offsets reversed    | {\"a\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [4, 0]}}         | end before they begin",
            "negative offset     | {\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}       | must be non-negative 64-bit integers",
            "three offsets       | {\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}     | must be an array [begin, end]",
            "size disagrees      | {\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}        | needs 8 bytes but data_offsets [0,4] span 4",
            "duplicate name      | {\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}, \"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}} | duplicate field 'a'",
            "duplicate dtype     | {\"a\": {\"dtype\": \"U8\", \"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}} | tensor 'a': duplicate field 'dtype'",
            "duplicate metadata  | {\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}, \"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}} | __metadata__ has a duplicate field 'k'",
            "offsets not array   | {\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": 4}}     | data_offsets must be an array [begin, end], found NUMBER",
            "metadata non-string | {\"__metadata__\": {\"k\": 1}, \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}} | __metadata__ value for 'k' is not a string",
            "metadata not object | {\"__metadata__\": [], \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}} | __metadata__ must be an object",
            "overlap             | {\"a\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [0, 3]}, \"b\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [2, 4]}} | tensors 'a' [0, 3) and 'b' [2, 4) overlap",
            "hole                | {\"a\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}, \"b\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [2, 4]}} | bytes [1, 2) of the data area belong to no tensor (hole before 'b')",
            "uncovered tail      | {\"a\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [0, 3]}}          | data area has 4 bytes but the tensors cover only 3",
    })
    void badHeaderIsRejected(String what, String header, String expected) throws IOException {
        assertRejected(RawFiles.file(dir, what.replace(' ', '_'), header, zeros(4)), expected);
    }

    @Test
    void deeplyNestedHeaderIsRejected() throws IOException {
        // Inside a field the format does not define, which the reader skips (and so must still parse).
        String header = "{\"a\":{\"extra\":" + "[".repeat(5000) + "]".repeat(5000) + "}}";
        assertRejected(RawFiles.file(dir, "deep", header, zeros(0)), "not well-formed JSON", "nesting depth");
    }

    @Test
    void emptyHeaderIsRejected() throws IOException {
        assertRejected(RawFiles.file(dir, "empty", 0, new byte[0], zeros(0)), "header must be a JSON object", "header is empty");
    }

    @Test
    void headerThatIsNotUtf8JsonIsRejected() throws IOException {
        byte[] h = {(byte) 0xff, (byte) 0xfe, 0, 0};
        assertRejected(RawFiles.file(dir, "bin", h.length, h, zeros(0)), "header");
    }

    // --- sharded indexes ---

    private Path shard(String name) throws IOException {
        new SafetensorsWriter().put("w", dev.mambaout.graph.DType.F32, new float[]{1, 2}, 2).write(dir.resolve(name));
        return dir.resolve(name);
    }

    private Path index(String json) throws IOException {
        Path p = dir.resolve(ShardedSafetensors.INDEX_NAME);
        Files.writeString(p, json);
        return p;
    }

    @Test
    void shardIndexThatEscapesItsDirectoryIsRejected() throws IOException {
        Path idx = index("{\"weight_map\": {\"w\": \"../outside.safetensors\"}}");
        IOException e = assertThrows(IOException.class, () -> TensorSource.open(idx).close());
        assertTrue(e.getMessage().contains("must be a plain file name in the index's directory"), e.getMessage());
    }

    @Test
    void shardIndexNamingAMissingShardIsRejected() throws IOException {
        Path idx = index("{\"weight_map\": {\"w\": \"nowhere.safetensors\"}}");
        IOException e = assertThrows(IOException.class, () -> TensorSource.open(idx).close());
        assertTrue(e.getMessage().contains("shard 'nowhere.safetensors' (named for tensor 'w') does not exist"), e.getMessage());
    }

    @Test
    void shardIndexPointingAtTheWrongShardIsRejected() throws IOException {
        shard("s1.safetensors");
        Path idx = index("{\"weight_map\": {\"v\": \"s1.safetensors\"}}");
        IOException e = assertThrows(IOException.class, () -> TensorSource.open(idx).close());
        assertTrue(e.getMessage().contains("puts tensor 'v' in 's1.safetensors', which does not contain it"), e.getMessage());
    }

    @Test
    void shardIndexWithoutWeightMapIsRejected() throws IOException {
        Path idx = index("{\"metadata\": {}}");
        IOException e = assertThrows(IOException.class, () -> TensorSource.open(idx).close());
        assertTrue(e.getMessage().contains("no \"weight_map\" object"), e.getMessage());
        Path bad = index("{\"weight_map\": ");
        e = assertThrows(IOException.class, () -> TensorSource.open(bad).close());
        assertTrue(e.getMessage().contains("not well-formed JSON"), e.getMessage());
    }

    @Test
    void shardIndexWithDuplicateOrTrailingContentIsRejected() throws IOException {
        shard("s1.safetensors");
        Path dup = index("{\"weight_map\": {\"w\": \"s1.safetensors\", \"w\": \"s1.safetensors\"}}");
        IOException e = assertThrows(IOException.class, () -> TensorSource.open(dup).close());
        assertTrue(e.getMessage().contains("not well-formed JSON") && e.getMessage().contains("Duplicate field 'w'"), e.getMessage());
        Path trailing = index("{\"weight_map\": {\"w\": \"s1.safetensors\"}} {}");
        e = assertThrows(IOException.class, () -> TensorSource.open(trailing).close());
        assertTrue(e.getMessage().contains("trailing content"), e.getMessage());
        Path ok = index("{\"extra\": [1, {\"a\": 2}], \"metadata\": {\"total_size\": 8}, \"weight_map\": {\"w\": \"s1.safetensors\"}}");
        try (TensorSource src = TensorSource.open(ok)) {
            assertTrue(src.contains("w") && "8".equals(src.metadata().get("total_size")), src.toString());
        }
    }

    @Test
    void corruptShardIsRejectedThroughTheIndex() throws IOException {
        Files.write(dir.resolve("bad.safetensors"), new byte[]{0});
        Path idx = index("{\"weight_map\": {\"w\": \"bad.safetensors\"}}");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> TensorSource.open(idx).close());
        assertTrue(e.getMessage().contains("bad.safetensors") && e.getMessage().contains("shorter than the 8-byte"), e.getMessage());
    }
}
