package dev.mambaout.model.checkpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mambaout.graph.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Collects named tensors and writes them as one safetensors file. Values are converted to the requested dtype on
 * write (double or float sources to F64/F32/F16/BF16 with round-to-nearest-even, long sources to I64/I32/U8 with a
 * range check), tensors are laid out in insertion order, and the header is padded with spaces to a multiple of 8 so
 * every tensor starts 8-byte aligned, as the reference writer does. The file appears atomically: it is written beside
 * the target and moved into place, so a crash never leaves a half-written checkpoint under the real name.
 */
public final class SafetensorsWriter {

    private record Entry(DType dtype, long[] shape, Object values, int length) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafetensorsWriter put(String name, DType dtype, double[] values, long... shape) {
        requireFloating(name, dtype);
        return add(name, dtype, shape, values, values.length);
    }

    public SafetensorsWriter put(String name, DType dtype, float[] values, long... shape) {
        requireFloating(name, dtype);
        return add(name, dtype, shape, values, values.length);
    }

    /** Integer tensors (labels, counters); values outside the dtype's range are refused on {@link #write}. */
    public SafetensorsWriter put(String name, DType dtype, long[] values, long... shape) {
        if (dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("tensor '" + name + "': long values need an integer dtype, got " + dtype);
        }
        return add(name, dtype, shape, values, values.length);
    }

    private static void requireFloating(String name, DType dtype) {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("tensor '" + name + "': floating-point values need a floating dtype, got " + dtype);
        }
    }

    private SafetensorsWriter add(String name, DType dtype, long[] shape, Object values, int length) {
        if (name.isEmpty() || name.equals("__metadata__")) throw new IllegalArgumentException("invalid tensor name '" + name + "'");
        if (entries.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' was already added");
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            numel = Math.multiplyExact(numel, d);
        }
        if (numel != length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " holds " + numel
                    + " elements but " + length + " values were given");
        }
        entries.put(name, new Entry(dtype, shape.clone(), values, length));
        return this;
    }

    public void write(Path target) throws IOException {
        ObjectNode header = SafetensorsFile.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry t = e.getValue();
            ObjectNode node = header.putObject(e.getKey());
            node.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = node.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long end = offset + (long) t.length() * t.dtype().bytes();
            node.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = SafetensorsFile.JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) & ~7;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        Path dir = target.toAbsolutePath().getParent();
        // Not Files.createTempFile: its owner-only permissions would carry over to the finished checkpoint.
        Path tmp = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                + System.nanoTime() + ".partial");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                writeAll(ch, head);
                ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                for (Map.Entry<String, Entry> e : entries.entrySet()) encode(ch, buf, e.getKey(), e.getValue());
                buf.flip();
                writeAll(ch, buf);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void encode(FileChannel ch, ByteBuffer buf, String name, Entry t) throws IOException {
        int size = t.dtype().bytes();
        for (int i = 0; i < t.length(); i++) {
            if (buf.remaining() < size) {
                buf.flip();
                writeAll(ch, buf);
                buf.clear();
            }
            switch (t.values()) {
                case double[] d -> putFloating(buf, t.dtype(), d[i]);
                case float[] f -> putFloating(buf, t.dtype(), f[i]);
                case long[] l -> putInteger(buf, t.dtype(), l[i], name, i);
                default -> throw new IllegalStateException("unexpected value array " + t.values().getClass());
            }
        }
    }

    private static void putFloating(ByteBuffer buf, DType dtype, double v) {
        switch (dtype) {
            case F64 -> buf.putDouble(v);
            case F32 -> buf.putFloat((float) v);
            case F16 -> buf.putShort(Float.floatToFloat16((float) v));
            case BF16 -> buf.putShort(DType.floatToBf16((float) v));
            default -> throw new IllegalStateException(dtype + " is not floating point");
        }
    }

    private static void putInteger(ByteBuffer buf, DType dtype, long v, String name, int index) {
        switch (dtype) {
            case I64 -> buf.putLong(v);
            case I32 -> {
                if (v != (int) v) throw new IllegalArgumentException("tensor '" + name + "'[" + index + "] = " + v + " does not fit I32");
                buf.putInt((int) v);
            }
            case U8 -> {
                if (v < 0 || v > 255) throw new IllegalArgumentException("tensor '" + name + "'[" + index + "] = " + v + " does not fit U8");
                buf.put((byte) v);
            }
            default -> throw new IllegalStateException(dtype + " is not an integer type");
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }
}
