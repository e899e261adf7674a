package dev.mambaout.model.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, independently of the writer under test. */
final class RawFiles {

    private RawFiles() {}

    static Path file(Path dir, String name, String headerJson, byte[] data) throws IOException {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        return file(dir, name, h.length, h, data);
    }

    /** A file whose length field says {@code declared} whatever the header really holds. */
    static Path file(Path dir, String name, long declared, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declared).put(header).put(data);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    static byte[] le(int bytes, java.util.function.Consumer<ByteBuffer> fill) {
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        fill.accept(b);
        return b.array();
    }
}
