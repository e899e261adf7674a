package dev.mambaout.model.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The header's text rules are the reference reader's (Rust {@code safetensors}: {@code str::from_utf8}, then
 * "starts with '{'"): a header any JSON parser could read after detecting its encoding must still be refused here
 * when Python or Rust would refuse it, so that no file "works here" and fails there.
 */
class HeaderEncodingTest {

    @TempDir Path dir;

    private static final String HEADER = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";

    private SafetensorsFormatException rejected(byte[] header) throws IOException {
        Path p = RawFiles.file(dir, "h.safetensors", header.length, header, new byte[4]);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p + ": not a valid safetensors file: "), e.getMessage());
        return e;
    }

    @ParameterizedTest
    @ValueSource(strings = {"UTF-16LE", "UTF-16BE", "UTF-16", "UTF-32LE", "UTF-32BE"})
    void headerInAWiderEncodingIsRefused(String charset) throws IOException {
        byte[] h = HEADER.getBytes(Charset.forName(charset));
        String m = rejected(h).getMessage();
        // UTF-16LE begins with '{' and 0x00, which is valid UTF-8: it must then fail as JSON, not be re-detected.
        assertTrue(m.contains("first byte is '{'") || m.contains("not well-formed JSON"), m);
    }

    @Test
    void byteOrderMarkIsRefused() throws IOException {
        byte[] json = HEADER.getBytes(StandardCharsets.UTF_8);
        byte[] h = new byte[json.length + 3];
        h[0] = (byte) 0xEF; h[1] = (byte) 0xBB; h[2] = (byte) 0xBF;
        System.arraycopy(json, 0, h, 3, json.length);
        assertTrue(rejected(h).getMessage().contains("but its first byte is 0xEF"));
    }

    @Test
    void malformedUtf8IsRefused() throws IOException {
        // A tensor name holding a lone continuation byte, then an overlong encoding of '/'.
        for (byte[] bad : new byte[][]{{(byte) 0x80}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}}) {
            byte[] head = "{\"".getBytes(StandardCharsets.UTF_8);
            byte[] tail = "\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.UTF_8);
            byte[] h = new byte[head.length + bad.length + tail.length];
            System.arraycopy(head, 0, h, 0, head.length);
            System.arraycopy(bad, 0, h, head.length, bad.length);
            System.arraycopy(tail, 0, h, head.length + bad.length, tail.length);
            assertTrue(rejected(h).getMessage().contains("header is not valid UTF-8"));
        }
    }

    @Test
    void nulPaddingIsRefused() throws IOException {
        byte[] json = HEADER.getBytes(StandardCharsets.UTF_8);
        byte[] h = java.util.Arrays.copyOf(json, json.length + 4);
        assertTrue(rejected(h).getMessage().contains("not well-formed JSON"));
    }

    /** What the reference accepts must still load: UTF-8 names beyond ASCII, and the writers' space padding. */
    @Test
    void utf8NamesAndSpacePaddingAreAccepted() throws IOException {
        String json = "{\"caf\u00e9.\u6743\u91cd\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}   ";
        Path p = RawFiles.file(dir, "ok.safetensors", json, new byte[]{1, 2, 3, 4});
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(java.util.List.of("caf\u00e9.\u6743\u91cd"), java.util.List.copyOf(f.names()));
            assertEquals(4, f.readLongs("caf\u00e9.\u6743\u91cd")[3]);
        }
    }
}
