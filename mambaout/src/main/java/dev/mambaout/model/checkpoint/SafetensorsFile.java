package dev.mambaout.model.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mambaout.graph.DType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;
import java.util.stream.Collectors;

/**
 * One memory-mapped safetensors file. The header is validated completely on open, so every later read stays inside
 * the mapping: a hostile file is refused with a {@link SafetensorsFormatException} before any tensor is touched, and
 * no allocation is ever sized by a number the file declares except after that number has been checked against the
 * file's real length. The mapping is a {@link MemorySegment}, so files beyond 2 GiB work.
 */
public final class SafetensorsFile implements TensorSource {

    /** Largest header accepted; real checkpoints use a few hundred kilobytes even with thousands of tensors. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Headers are tiny documents of depth 3; the limits stop a crafted header from costing more than its length. */
    static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(8)
                    .maxNumberLength(40)
                    .maxDocumentLength(MAX_HEADER_BYTES)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final String METADATA_KEY = "__metadata__";

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final SequencedSet<String> names;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.names = Collections.unmodifiableSequencedSet(new LinkedHashSet<>(tensors.keySet()));
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path, "file is " + size + " bytes long, shorter than the 8-byte header length field");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, path);
            long n = len.getLong(0);
            if (n < 0 || n > size - 8) {
                throw new SafetensorsFormatException(path, "header length " + Long.toUnsignedString(n)
                        + " runs past the end of the file (" + (size - 8) + " bytes follow the length field)");
            }
            if (n > MAX_HEADER_BYTES) {
                throw new SafetensorsFormatException(path, "header length " + n + " exceeds the limit of "
                        + MAX_HEADER_BYTES + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) n);
            readFully(ch, header, 8, path);
            long dataLength = size - 8 - n;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(path, header.array(), dataLength, metadata);
            Arena arena = Arena.ofShared();
            try {
                MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new SafetensorsFile(path, arena, all.asSlice(8 + n), tensors, Collections.unmodifiableMap(metadata));
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new SafetensorsFormatException(path, "file ended while reading the header");
            pos += r;
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path path, byte[] header, long dataLength,
                                                       Map<String, String> metadataOut) throws SafetensorsFormatException {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(path, "header is not well-formed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SafetensorsFormatException(path, "header could not be parsed: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(path, "header must be a JSON object, found "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!v.isObject()) throw new SafetensorsFormatException(path, "__metadata__ must be an object of strings");
                for (Map.Entry<String, JsonNode> m : v.properties()) {
                    if (!m.getValue().isTextual()) {
                        throw new SafetensorsFormatException(path, "__metadata__ value for '" + m.getKey() + "' is not a string");
                    }
                    metadataOut.put(m.getKey(), m.getValue().textValue());
                }
                continue;
            }
            tensors.put(name, parseEntry(path, name, v, dataLength));
        }
        checkLayout(path, tensors.values(), dataLength);
        return tensors;
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode v, long dataLength)
            throws SafetensorsFormatException {
        String where = "tensor '" + name + "': ";
        if (!v.isObject()) throw new SafetensorsFormatException(path, where + "entry must be an object, found " + v.getNodeType());
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null || sh == null || off == null) {
            List<String> absent = new ArrayList<>();
            if (dt == null) absent.add("dtype");
            if (sh == null) absent.add("shape");
            if (off == null) absent.add("data_offsets");
            throw new SafetensorsFormatException(path, where + "entry lacks " + String.join(", ", absent));
        }
        if (!dt.isTextual()) throw new SafetensorsFormatException(path, where + "dtype must be a string");
        DType dtype = DType.fromSafetensors(dt.textValue());
        if (dtype == null) {
            throw new SafetensorsFormatException(path, where + "unknown dtype '" + dt.textValue() + "' (this reader handles "
                    + Arrays.stream(DType.values()).map(DType::safetensorsName).collect(Collectors.joining(", ")) + ")");
        }
        if (!sh.isArray()) throw new SafetensorsFormatException(path, where + "shape must be an array");
        List<Long> shape = new ArrayList<>(sh.size());
        long numel = 1;
        for (JsonNode d : sh) {
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new SafetensorsFormatException(path, where + "shape " + sh + " has a dimension that is not a non-negative 64-bit integer");
            }
            shape.add(d.longValue());
            try {
                numel = Math.multiplyExact(numel, d.longValue());
            } catch (ArithmeticException overflow) {
                throw new SafetensorsFormatException(path, where + "shape " + sh + " declares more elements than a 64-bit count holds");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, (long) dtype.bytes());
        } catch (ArithmeticException overflow) {
            throw new SafetensorsFormatException(path, where + "shape " + sh + " of " + dtype + " declares more bytes than a 64-bit size holds");
        }
        if (!off.isArray() || off.size() != 2) {
            throw new SafetensorsFormatException(path, where + "data_offsets must be an array [begin, end], found " + off);
        }
        for (JsonNode o : off) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw new SafetensorsFormatException(path, where + "data_offsets " + off + " must be non-negative 64-bit integers");
            }
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (end < begin) throw new SafetensorsFormatException(path, where + "data_offsets " + off + " end before they begin");
        if (end > dataLength) {
            throw new SafetensorsFormatException(path, where + "data_offsets " + off + " run past the end of the data area ("
                    + dataLength + " bytes)");
        }
        if (end - begin != bytes) {
            throw new SafetensorsFormatException(path, where + "shape " + sh + " of " + dtype + " needs " + bytes
                    + " bytes but data_offsets " + off + " span " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** Tensors must tile the data area exactly, as the reference implementation demands: no overlap, no hole. */
    private static void checkLayout(Path path, Collection<TensorInfo> infos, long dataLength)
            throws SafetensorsFormatException {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long covered = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < covered) {
                throw new SafetensorsFormatException(path, "tensors '" + previous.name() + "' " + range(previous)
                        + " and '" + t.name() + "' " + range(t) + " overlap");
            }
            if (t.begin() > covered) {
                throw new SafetensorsFormatException(path, "bytes [" + covered + ", " + t.begin()
                        + ") of the data area belong to no tensor (hole before '" + t.name() + "')");
            }
            covered = t.end();
            previous = t;
        }
        if (covered != dataLength) {
            throw new SafetensorsFormatException(path, "data area has " + dataLength + " bytes but the tensors cover only "
                    + covered);
        }
    }

    private static String range(TensorInfo t) {
        return "[" + t.begin() + ", " + t.end() + ")";
    }

    public Path path() {
        return path;
    }

    @Override
    public SequencedSet<String> names() {
        return names;
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(path + " has no tensor named '" + name + "'");
        return t;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor's raw little-endian bytes, read-only and valid until {@link #close()}: for copying to a device. */
    public MemorySegment segment(String name) {
        TensorInfo t = info(name);
        return data.asSlice(t.begin(), t.byteSize()).asReadOnly();
    }

    @Override
    public double[] readDoubles(String name) {
        TensorInfo t = info(name);
        MemorySegment s = data.asSlice(t.begin(), t.byteSize());
        double[] out = new double[arrayLength(t)];
        if (t.dtype() == DType.F64) {
            MemorySegment.copy(s, F64_LE, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) out[i] = element(s, t.dtype(), i);
        }
        return out;
    }

    @Override
    public float[] readFloats(String name) {
        TensorInfo t = info(name);
        MemorySegment s = data.asSlice(t.begin(), t.byteSize());
        float[] out = new float[arrayLength(t)];
        if (t.dtype() == DType.F32) {
            MemorySegment.copy(s, F32_LE, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) out[i] = (float) element(s, t.dtype(), i);
        }
        return out;
    }

    @Override
    public long[] readLongs(String name) {
        TensorInfo t = info(name);
        MemorySegment s = data.asSlice(t.begin(), t.byteSize());
        long[] out = new long[arrayLength(t)];
        switch (t.dtype()) {
            case I64 -> MemorySegment.copy(s, I64_LE, 0, out, 0, out.length);
            case I32 -> { for (int i = 0; i < out.length; i++) out[i] = s.getAtIndex(I32_LE, i); }
            case U8 -> { for (int i = 0; i < out.length; i++) out[i] = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, i)); }
            default -> throw new IllegalArgumentException(path + ": tensor '" + name + "' is " + t.dtype()
                    + "; readLongs reads integer tensors only");
        }
        return out;
    }

    /** One element widened to double; exact for every dtype except I64 beyond 2^53. */
    private static double element(MemorySegment s, DType dtype, long i) {
        return switch (dtype) {
            case F64 -> s.getAtIndex(F64_LE, i);
            case F32 -> s.getAtIndex(F32_LE, i);
            case F16 -> Float.float16ToFloat(s.getAtIndex(I16_LE, i));
            case BF16 -> DType.bf16ToFloat(s.getAtIndex(I16_LE, i));
            case I64 -> s.getAtIndex(I64_LE, i);
            case I32 -> s.getAtIndex(I32_LE, i);
            case U8 -> Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, i));
        };
    }

    /** Java arrays stop short of 2^31 elements; larger tensors are still reachable through {@link #segment}. */
    private int arrayLength(TensorInfo t) {
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(path + ": tensor '" + t.name() + "' has " + n
                    + " elements, more than a Java array holds; use segment(name)");
        }
        return (int) n;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
