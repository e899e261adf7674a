package dev.mambaout.model.train;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the IDX files of MNIST and Fashion-MNIST (LeCun's format: two zero bytes, a type byte, a dimension count,
 * big-endian int32 sizes, then the data), raw or gzip-compressed (recognised by the gzip magic, not the name). Only
 * unsigned-byte data is accepted, as both datasets use it. Everything the header declares is checked against what
 * the file holds: a truncated file or trailing bytes are refused, and nothing is allocated from a declared size
 * before that many bytes have actually been read.
 */
public final class IdxFiles {

    /** Type byte of unsigned 8-bit data. */
    static final int UBYTE = 0x08;
    /** The largest image a file may declare; both datasets use 28x28. */
    static final int MAX_SIDE = 1 << 14;

    private IdxFiles() {}

    /** An idx3 file: {@code count} images of {@code rows x cols} bytes, row-major, one after the other. */
    public record Images(Path file, int count, int rows, int cols, byte[] pixels) {
        public Images {
            if ((long) count * rows * cols != pixels.length) {
                throw new IllegalArgumentException(count + " images of " + rows + "x" + cols + " need "
                        + (long) count * rows * cols + " bytes, got " + pixels.length);
            }
        }
    }

    public static Images readImages(Path file) throws IOException {
        try (InputStream in = open(file)) {
            int[] dims = header(file, in, 3, "an idx3 image file (magic 0x00000803)");
            int count = dims[0], rows = dims[1], cols = dims[2];
            if (rows > MAX_SIDE || cols > MAX_SIDE) {
                throw new DatasetException(file, "declares images of " + rows + "x" + cols + "; at most " + MAX_SIDE
                        + " per side is accepted");
            }
            long bytes = (long) count * rows * cols;
            if (bytes > Integer.MAX_VALUE - 8) {
                throw new DatasetException(file, "declares " + count + " images of " + rows + "x" + cols + " (" + bytes
                        + " bytes), more than one Java array holds");
            }
            byte[] pixels = body(file, in, (int) bytes, count + " images of " + rows + "x" + cols);
            return new Images(file, count, rows, cols, pixels);
        }
    }

    /** An idx1 file's bytes: one label per item. */
    public static byte[] readLabels(Path file) throws IOException {
        try (InputStream in = open(file)) {
            int[] dims = header(file, in, 1, "an idx1 label file (magic 0x00000801)");
            return body(file, in, dims[0], dims[0] + " labels");
        }
    }

    private static InputStream open(Path file) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        if (!Files.isRegularFile(file)) throw new DatasetException(file, "is not a regular file (a directory, pipe or device)");
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        raw.mark(2);
        int b0 = raw.read(), b1 = raw.read();
        raw.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            try {
                return new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16);
            } catch (IOException e) {
                raw.close();
                throw new DatasetException(file, "gzip header is corrupt (" + e.getMessage() + ")", e);
            }
        }
        return raw;
    }

    /** Reads and checks the magic and the dimensions; returns them. */
    private static int[] header(Path file, InputStream in, int rank, String expected) throws IOException {
        byte[] magic = readFully(file, in, 4, "the 4-byte magic number");
        int m = ((magic[0] & 0xff) << 24) | ((magic[1] & 0xff) << 16) | ((magic[2] & 0xff) << 8) | (magic[3] & 0xff);
        if (magic[0] != 0 || magic[1] != 0) {
            throw new DatasetException(file, String.format("is not an IDX file: magic 0x%08x, expected %s", m, expected));
        }
        if ((magic[2] & 0xff) != UBYTE) {
            throw new DatasetException(file, String.format("has data type 0x%02x (magic 0x%08x); only unsigned bytes (0x08)"
                    + " are supported, expected %s", magic[2] & 0xff, m, expected));
        }
        if ((magic[3] & 0xff) != rank) {
            throw new DatasetException(file, String.format("has %d dimensions (magic 0x%08x), expected %s",
                    magic[3] & 0xff, m, expected));
        }
        byte[] d = readFully(file, in, 4 * rank, "the " + rank + " dimension sizes of the header");
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = ((d[4 * i] & 0xff) << 24) | ((d[4 * i + 1] & 0xff) << 16) | ((d[4 * i + 2] & 0xff) << 8) | (d[4 * i + 3] & 0xff);
            if (dims[i] <= 0) {
                throw new DatasetException(file, "dimension " + i + " of the header is " + Integer.toUnsignedString(dims[i])
                        + (dims[i] == 0 ? "; the file holds no items" : ", which is negative as a signed int32"));
            }
        }
        return dims;
    }

    private static byte[] body(Path file, InputStream in, int bytes, String what) throws IOException {
        byte[] data;
        try {
            // readNBytes grows its buffer as data arrives, so a header lying about the size costs no more than the file.
            data = in.readNBytes(bytes);
        } catch (EOFException | ZipException e) {
            throw new DatasetException(file, "gzip data is truncated or corrupt after the header declaring " + what
                    + " (" + e.getMessage() + ")", e);
        }
        if (data.length < bytes) {
            throw new DatasetException(file, "is truncated: the header declares " + what + " (" + bytes + " data bytes) but only "
                    + data.length + " follow");
        }
        try {
            if (in.read() != -1) {
                throw new DatasetException(file, "has bytes after the " + bytes + " data bytes the header declares (" + what + ")");
            }
        } catch (EOFException | ZipException e) {
            throw new DatasetException(file, "gzip stream is truncated or corrupt at its end (" + e.getMessage() + ")", e);
        }
        return data;
    }

    private static byte[] readFully(Path file, InputStream in, int n, String what) throws IOException {
        byte[] b;
        try {
            b = in.readNBytes(n);
        } catch (EOFException | ZipException e) {
            throw new DatasetException(file, "gzip data is truncated or corrupt (" + e.getMessage() + ")", e);
        }
        if (b.length < n) throw new DatasetException(file, "ends inside the header: " + what + " (" + n + " bytes) is cut short");
        return b;
    }
}
