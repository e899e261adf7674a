package dev.mambaout.model.checkpoint;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntFunction;

/**
 * Valid headers of a chosen length built to cost the reader the most heap per byte: many entries, each as short as
 * the format allows. Each file opens successfully, so the reader does all its work on them.
 */
enum HeaderBombs {
    /** Empty tensors with the shortest unique names: the most table entries per header byte. */
    EMPTY_TENSORS(i -> "\"" + Integer.toString(i, 36) + "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}"),
    /** Empty tensors of the highest rank, every dimension a distinct boxed number. */
    WIDE_SHAPES(i -> {
        StringBuilder b = new StringBuilder("\"").append(Integer.toString(i, 36)).append("\":{\"dtype\":\"U8\",\"shape\":[0");
        for (int d = 1; d < SafetensorsFile.MAX_RANK; d++) b.append(',').append(128 + d);
        return b.append("],\"data_offsets\":[0,0]}").toString();
    }),
    /** The most metadata entries, then empty tensors. */
    METADATA(i -> null);

    private final IntFunction<String> entry;

    HeaderBombs(IntFunction<String> entry) {
        this.entry = entry;
    }

    /** Writes a file whose header is about {@code headerBytes} long (space-padded to exactly that). */
    Path write(Path file, int headerBytes) throws IOException {
        StringBuilder h = new StringBuilder(headerBytes).append('{');
        int i = 0;
        if (this == METADATA) {
            h.append("\"__metadata__\":{");
            for (; i < SafetensorsFile.MAX_METADATA_ENTRIES; i++) {
                h.append(i == 0 ? "" : ",").append('"').append(Integer.toString(i, 36)).append("\":\"\"");
            }
            h.append('}');
        }
        IntFunction<String> next = this == METADATA ? EMPTY_TENSORS.entry : entry;
        while (true) {
            String e = next.apply(i++);
            if (h.length() + e.length() + 2 > headerBytes) break;
            h.append(h.length() == 1 ? "" : ",").append(e);
        }
        h.append('}');
        while (h.length() < headerBytes) h.append(' ');
        byte[] bytes = h.toString().getBytes(StandardCharsets.US_ASCII);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(bytes.length).array());
            out.write(bytes);
        }
        return file;
    }
}
