package dev.mambaout.model.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mambaout.graph.DType;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * One memory-mapped safetensors file. The header is validated completely on open, so every later read stays inside
 * the mapping: a hostile file is refused with a {@link SafetensorsFormatException} before any tensor is touched, and
 * no allocation is ever sized by a number the file declares except after that number has been checked against the
 * file's real length. The mapping is a {@link MemorySegment}, so files beyond 2 GiB work.
 *
 * <p>Ownership: whoever opens a file owns it and must {@link #close()} it (try-with-resources), which unmaps it at
 * once. A file that is never closed is unmapped when the garbage collector finds it unreachable; segments from
 * {@link #segment} are valid only while their file is open and reachable. If the file is truncated on disk while
 * open, reads fail with an {@link UncheckedIOException} wrapping a {@link SafetensorsFormatException} that names it.
 *
 * <p>Memory: opening a file costs at most {@link #HEAP_BYTES_PER_HEADER_BYTE} bytes of heap per header byte plus
 * {@link #HEAP_BASE_BYTES}, whatever the header holds (at the header cap: 416 MiB); the header is parsed straight from
 * the mapping, never copied. A test checks the bound in a JVM with a small {@code -Xmx}.
 */
public final class SafetensorsFile implements TensorSource {

    /** Largest header accepted; real checkpoints use a few hundred kilobytes even with thousands of tensors. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    /**
     * The heap bound of an open, per header byte: per tensor (at least 50 header bytes) its name, entry, shape and
     * table slot, about 200 bytes. The worst case is a header of nothing but empty tensors with short names.
     */
    public static final int HEAP_BYTES_PER_HEADER_BYTE = 4;

    /** The part of the heap bound that does not grow with the header: parser buffers, the JVM's own classes. */
    public static final long HEAP_BASE_BYTES = 16L << 20;

    /**
     * Most dimensions a shape may have (PyTorch's own limit is 64); a longer one is refused, as its boxed dimensions
     * would cost far more heap than their digits.
     */
    public static final int MAX_RANK = 64;

    /** Real metadata holds a handful of strings; the cap keeps a header of tiny entries from costing 15x its size. */
    public static final int MAX_METADATA_ENTRIES = 1 << 16;

    /** Open files (mappings) beyond which an open first asks for a collection, then is refused; see {@link #reserveMapping}. */
    public static final int MAX_OPEN_FILES = 16_384;

    private static final AtomicInteger LIVE_MAPPINGS = new AtomicInteger();
    private static final Cleaner CLEANER = Cleaner.create();

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static StreamReadConstraints constraints() {
        return StreamReadConstraints.builder()
                .maxNestingDepth(8)
                .maxNumberLength(40)
                .maxDocumentLength(MAX_HEADER_BYTES)
                .build();
    }

    /** The writer's and the sharded index's JSON, duplicate keys refused; headers are read through {@link #HEADER_JSON}. */
    static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(constraints())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    /**
     * Headers are tiny documents of depth 3; the limits stop a crafted one from costing more than its length.
     * Field names are not canonicalised: a header of a million distinct names would only fill the symbol table (and
     * trip its collision guard with an unchecked exception); duplicates are caught while the table is built.
     */
    private static final JsonFactory HEADER_JSON = JsonFactory.builder()
            .streamReadConstraints(constraints())
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    private static final String METADATA_KEY = "__metadata__";

    private final Path path;
    private final Arena arena;
    private final Cleaner.Cleanable unmap;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final SequencedSet<String> names;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, LinkedHashMap<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        // The action holds the arena, not this file, so it can run once the file is unreachable.
        this.unmap = CLEANER.register(this, new Unmap(arena));
        this.data = data;
        this.tensors = tensors;
        this.names = Collections.unmodifiableSequencedSet(tensors.sequencedKeySet());
        this.metadata = metadata;
    }

    /** Closes the mapping once, whether {@link #close()} or the garbage collector gets there first. */
    private record Unmap(Arena arena) implements Runnable {
        @Override
        public void run() {
            arena.close();
            LIVE_MAPPINGS.decrementAndGet();
        }
    }

    public static SafetensorsFile open(Path path) throws IOException {
        // A FIFO or device would block the open (or the read) forever waiting for a writer; refuse it by its kind.
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new IOException(path + " is not a regular file (a directory, pipe or device); expected a .safetensors file");
        }
        reserveMapping(path);
        boolean opened = false;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer start = ByteBuffer.allocate((int) Math.min(size, 8)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, start, 0, path);
            String foreign = foreignFormat(start.array());
            if (foreign != null) throw new SafetensorsFormatException(path, foreign);
            if (size < 8) {
                throw new SafetensorsFormatException(path, "file is " + size + " bytes long, shorter than the 8-byte header length field");
            }
            long n = start.getLong(0);
            if (n < 0 || n > size - 8) {
                throw new SafetensorsFormatException(path, "header length " + Long.toUnsignedString(n)
                        + " runs past the end of the file (" + (size - 8) + " bytes follow the length field)");
            }
            if (n > MAX_HEADER_BYTES) {
                throw new SafetensorsFormatException(path, "header length " + n + " exceeds the limit of "
                        + MAX_HEADER_BYTES + " bytes");
            }
            long dataLength = size - 8 - n;
            Map<String, String> metadata = new LinkedHashMap<>();
            LinkedHashMap<String, TensorInfo> tensors;
            // The header is parsed from a mapping of its own, confined to this thread: closing a shared arena costs a
            // handshake with every thread, which a file refused by its header should not pay.
            try (Arena scratch = Arena.ofConfined()) {
                tensors = parseHeader(path, ch.map(FileChannel.MapMode.READ_ONLY, 8, n, scratch), dataLength, metadata);
            }
            Arena arena = Arena.ofShared();
            try {
                MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                SafetensorsFile f = new SafetensorsFile(path, arena, all.asSlice(8 + n), tensors,
                        Collections.unmodifiableMap(metadata));
                opened = true;
                return f;
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } finally {
            if (!opened) LIVE_MAPPINGS.decrementAndGet();
        }
    }

    /**
     * Files people pass by mistake, recognised by their first bytes, with how to convert them. PyTorch's
     * {@code torch.save} writes a zip archive (since 1.6) or a bare pickle (before), whose bytes would otherwise read
     * as an absurd header length.
     */
    private static String foreignFormat(byte[] start) {
        String convert = "; convert it to safetensors in Python, e.g. python -c \"import torch, safetensors.torch as st; "
                + "sd = torch.load('model.pth', map_location='cpu'); st.save_file(sd.get('state_dict', sd.get('model', sd)), "
                + "'model.safetensors')\"";
        if (start.length >= 4 && start[0] == 'P' && start[1] == 'K' && start[2] == 3 && start[3] == 4) {
            return "it is a zip archive, as PyTorch's torch.save writes (.pth, .pt, .bin)" + convert;
        }
        if (start.length >= 2 && (start[0] & 0xff) == 0x80 && start[1] >= 2 && start[1] <= 5) {
            return "it is a Python pickle, as older PyTorch's torch.save writes (.pth, .pt, .bin)" + convert;
        }
        return null;
    }

    /**
     * Counts the mapping an open is about to create. An unclosed file is unmapped when the garbage collector finds it
     * unreachable, but a loop that leaks opens without allocating much never triggers a collection, and the kernel's
     * map count (vm.max_map_count, 65530 by default) then runs out and aborts the JVM; so past {@link #MAX_OPEN_FILES}
     * a collection is asked for (as the JDK does for direct buffers) and, if that frees nothing, the open is refused.
     */
    private static void reserveMapping(Path path) throws IOException {
        if (LIVE_MAPPINGS.incrementAndGet() <= MAX_OPEN_FILES) return;
        System.gc();
        for (int i = 0; i < 100 && LIVE_MAPPINGS.get() > MAX_OPEN_FILES; i++) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (LIVE_MAPPINGS.get() > MAX_OPEN_FILES) {
            LIVE_MAPPINGS.decrementAndGet();
            throw new IOException("cannot open " + path + ": " + MAX_OPEN_FILES + " safetensors files are already open "
                    + "(each holds a memory mapping); close every SafetensorsFile when done, e.g. with try-with-resources");
        }
    }

    /** Safetensors files open in this process (mapped and not yet closed or collected). */
    public static int openFiles() {
        return LIVE_MAPPINGS.get();
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new SafetensorsFormatException(path, "file ended while reading the header");
            pos += r;
        }
    }

    /**
     * Parses the header as a stream, building only the tensor table: no JSON tree, so the heap a header costs is a
     * small multiple of its length (see {@link #MAX_HEADER_BYTES}). The text is decoded as strict UTF-8 and must
     * begin with '{', the reference reader's rules: a header in UTF-16, UTF-32 or with a byte-order mark, which a
     * detecting JSON parser would accept, fails in Python and Rust and so is refused here too.
     */
    private static LinkedHashMap<String, TensorInfo> parseHeader(Path path, MemorySegment header, long dataLength,
                                                       Map<String, String> metadataOut) throws SafetensorsFormatException {
        byte first = header.byteSize() == 0 ? 0 : header.get(ValueLayout.JAVA_BYTE, 0);
        if (first != '{') {
            throw new SafetensorsFormatException(path, "header must be a JSON object in UTF-8 whose first byte is '{' "
                    + "(the reference reader's rule), " + (header.byteSize() == 0 ? "but the header is empty"
                    : String.format(Locale.ROOT, "but its first byte is 0x%02X", first & 0xff)));
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        LinkedHashMap<String, TensorInfo> tensors = new LinkedHashMap<>();
        try (JsonParser p = HEADER_JSON.createParser(new InputStreamReader(new SegmentInput(header), utf8))) {
            p.nextToken();
            boolean metadataSeen = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals(METADATA_KEY)) {
                    if (metadataSeen) throw new SafetensorsFormatException(path, "duplicate field '" + METADATA_KEY + "'");
                    metadataSeen = true;
                    parseMetadata(path, p, metadataOut);
                } else if (tensors.putIfAbsent(name, parseEntry(path, name, p, dataLength)) != null) {
                    throw new SafetensorsFormatException(path, "duplicate field '" + name + "' (two tensors of one name)");
                }
            }
            if (p.nextToken() != null) {
                throw new SafetensorsFormatException(path, "header is not well-formed JSON: trailing content after the object");
            }
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException(path, "header is not valid UTF-8 (the reference reader requires UTF-8)", e);
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(path, "header is not well-formed JSON: " + e.getOriginalMessage(), e);
        } catch (SafetensorsFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new SafetensorsFormatException(path, "header could not be parsed: " + e.getMessage(), e);
        }
        checkLayout(path, tensors.values(), dataLength);
        return tensors;
    }

    /** The header read straight from the mapping, so even a header at the cap is never copied onto the heap. */
    private static final class SegmentInput extends InputStream {
        private final MemorySegment bytes;
        private long position;

        SegmentInput(MemorySegment bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            return position < bytes.byteSize() ? Byte.toUnsignedInt(bytes.get(ValueLayout.JAVA_BYTE, position++)) : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) return 0;
            long left = bytes.byteSize() - position;
            if (left <= 0) return -1;
            int k = (int) Math.min(len, left);
            MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, position, b, off, k);
            position += k;
            return k;
        }
    }

    private static void parseMetadata(Path path, JsonParser p, Map<String, String> out) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsFormatException(path, "__metadata__ must be an object of strings");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw new SafetensorsFormatException(path, "__metadata__ value for '" + key + "' is not a string");
            }
            if (out.size() >= MAX_METADATA_ENTRIES) {
                throw new SafetensorsFormatException(path, "__metadata__ has more than " + MAX_METADATA_ENTRIES + " entries");
            }
            if (out.putIfAbsent(key, p.getText()) != null) {
                throw new SafetensorsFormatException(path, "__metadata__ has a duplicate field '" + key + "'");
            }
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonParser p, long dataLength) throws IOException {
        String where = "tensor '" + name + "': ";
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsFormatException(path, where + "entry must be an object, found " + kind(p.currentToken()));
        }
        DType dtype = null;
        Dims shape = null;
        long[] off = null;
        String shapeText = null, offText = null;
        long numel = 1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (dtype != null) throw new SafetensorsFormatException(path, where + "duplicate field 'dtype'");
                    if (t != JsonToken.VALUE_STRING) throw new SafetensorsFormatException(path, where + "dtype must be a string");
                    String text = p.getText();
                    dtype = DType.fromSafetensors(text);
                    if (dtype == null) {
                        throw new SafetensorsFormatException(path, where + "unknown dtype '" + text + "' (this reader handles "
                                + Arrays.stream(DType.values()).map(DType::safetensorsName).collect(Collectors.joining(", ")) + ")");
                    }
                }
                case "shape" -> {
                    if (shape != null) throw new SafetensorsFormatException(path, where + "duplicate field 'shape'");
                    if (t != JsonToken.START_ARRAY) throw new SafetensorsFormatException(path, where + "shape must be an array");
                    long[] dims = new long[MAX_RANK];
                    int rank = 0;
                    StringBuilder text = new StringBuilder("[");
                    boolean overflow = false;
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        long d = nonNegativeLong(p);
                        if (d < 0) {
                            throw new SafetensorsFormatException(path, where + "shape " + text + "... has a dimension that "
                                    + "is not a non-negative 64-bit integer (" + p.getText() + ")");
                        }
                        if (rank == MAX_RANK) {
                            throw new SafetensorsFormatException(path, where + "shape has more than " + MAX_RANK + " dimensions");
                        }
                        if (rank > 0) text.append(',');
                        text.append(d);
                        dims[rank++] = d;
                        try {
                            numel = Math.multiplyExact(numel, d);
                        } catch (ArithmeticException e) {
                            overflow = true;
                        }
                    }
                    shape = Dims.of(dims, rank);
                    shapeText = text.append(']').toString();
                    if (overflow) {
                        throw new SafetensorsFormatException(path, where + "shape " + shapeText + " declares more elements than a 64-bit count holds");
                    }
                }
                case "data_offsets" -> {
                    if (off != null) throw new SafetensorsFormatException(path, where + "duplicate field 'data_offsets'");
                    off = new long[2];
                    int count = 0;
                    StringBuilder text = new StringBuilder("[");
                    boolean bad = t != JsonToken.START_ARRAY;
                    if (!bad) {
                        while (p.nextToken() != JsonToken.END_ARRAY) {
                            long o = nonNegativeLong(p);
                            if (count > 0) text.append(',');
                            text.append(o < 0 ? p.getText() : Long.toString(o));
                            if (o < 0) {
                                throw new SafetensorsFormatException(path, where + "data_offsets " + text + "...] must be non-negative 64-bit integers");
                            }
                            if (count < 2) off[count] = o;
                            count++;
                        }
                    }
                    offText = text.append(']').toString();
                    if (bad || count != 2) {
                        throw new SafetensorsFormatException(path, where + "data_offsets must be an array [begin, end], found "
                                + (bad ? kind(t) : offText));
                    }
                }
                // Fields the format does not define are ignored, as the reference reader ignores them.
                default -> p.skipChildren();
            }
        }
        if (dtype == null || shape == null || off == null) {
            List<String> absent = new ArrayList<>();
            if (dtype == null) absent.add("dtype");
            if (shape == null) absent.add("shape");
            if (off == null) absent.add("data_offsets");
            throw new SafetensorsFormatException(path, where + "entry lacks " + String.join(", ", absent));
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, (long) dtype.bytes());
        } catch (ArithmeticException overflow) {
            throw new SafetensorsFormatException(path, where + "shape " + shapeText + " of " + dtype + " declares more bytes than a 64-bit size holds");
        }
        long begin = off[0], end = off[1];
        if (end < begin) throw new SafetensorsFormatException(path, where + "data_offsets " + offText + " end before they begin");
        if (end > dataLength) {
            throw new SafetensorsFormatException(path, where + "data_offsets " + offText + " run past the end of the data area ("
                    + dataLength + " bytes)");
        }
        if (end - begin != bytes) {
            throw new SafetensorsFormatException(path, where + "shape " + shapeText + " of " + dtype + " needs " + bytes
                    + " bytes but data_offsets " + offText + " span " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** The current token as a non-negative long, or -1 when it is anything else (a fraction, a sign, 2^64...). */
    private static long nonNegativeLong(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) return -1;
        JsonParser.NumberType t = p.getNumberType();
        if (t != JsonParser.NumberType.INT && t != JsonParser.NumberType.LONG) return -1;
        long v = p.getLongValue();
        return v < 0 ? -1 : v;
    }

    private static String kind(JsonToken t) {
        return switch (t) {
            case START_OBJECT -> "OBJECT";
            case START_ARRAY -> "ARRAY";
            case VALUE_STRING -> "STRING";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "NUMBER";
            case VALUE_TRUE, VALUE_FALSE -> "BOOLEAN";
            case VALUE_NULL -> "NULL";
            case null -> "nothing";
            default -> t.name();
        };
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

    /**
     * Runs a read of the mapping. Pages past a file's current end fault when touched (the file was truncated after
     * it was opened), which the JVM reports as an {@link InternalError}; that becomes this reader's exception.
     */
    private <T> T mapped(String name, Supplier<T> read) {
        try {
            return read.get();
        } catch (InternalError e) {
            throw new UncheckedIOException(new SafetensorsFormatException(path, "reading tensor '" + name
                    + "' faulted: the file was truncated or changed on disk after it was opened", e));
        }
    }

    @Override
    public double[] readDoubles(String name) {
        TensorInfo t = info(name);
        MemorySegment s = data.asSlice(t.begin(), t.byteSize());
        double[] out = new double[arrayLength(t)];
        return mapped(name, () -> {
            if (t.dtype() == DType.F64) {
                MemorySegment.copy(s, F64_LE, 0, out, 0, out.length);
            } else {
                for (int i = 0; i < out.length; i++) out[i] = element(s, t.dtype(), i);
            }
            return out;
        });
    }

    @Override
    public float[] readFloats(String name) {
        TensorInfo t = info(name);
        MemorySegment s = data.asSlice(t.begin(), t.byteSize());
        float[] out = new float[arrayLength(t)];
        return mapped(name, () -> {
            if (t.dtype() == DType.F32) {
                MemorySegment.copy(s, F32_LE, 0, out, 0, out.length);
            } else {
                for (int i = 0; i < out.length; i++) out[i] = (float) element(s, t.dtype(), i);
            }
            return out;
        });
    }

    @Override
    public long[] readLongs(String name) {
        TensorInfo t = info(name);
        MemorySegment s = data.asSlice(t.begin(), t.byteSize());
        if (!EnumSet.of(DType.I64, DType.I32, DType.U8).contains(t.dtype())) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' is " + t.dtype()
                    + "; readLongs reads integer tensors only");
        }
        long[] out = new long[arrayLength(t)];
        return mapped(name, () -> {
            switch (t.dtype()) {
                case I64 -> MemorySegment.copy(s, I64_LE, 0, out, 0, out.length);
                case I32 -> { for (int i = 0; i < out.length; i++) out[i] = s.getAtIndex(I32_LE, i); }
                default -> { for (int i = 0; i < out.length; i++) out[i] = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, i)); }
            }
            return out;
        });
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
        unmap.clean();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
