package dev.mambaout.model.checkpoint;

import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutation fuzzing of the safetensors reader: valid files, damaged by bit flips, byte and number substitutions,
 * insertions, deletions, truncation, a wrong length field and re-encoded headers, must each be refused with a
 * {@link SafetensorsFormatException} or open with every tensor readable; nothing else is allowed (another exception,
 * an error, a hang), and nothing is accepted that the reference reader refuses (a header not in UTF-8 or not
 * beginning with '{').
 *
 * <p>CI runs {@value #DEFAULT_INPUTS} inputs. A long run is started with
 * {@code mvn -pl mambaout test -Dtest=SafetensorsFuzzTest -Dmambaout.fuzz.inputs=1000000 [-Dmambaout.fuzz.seed=N]};
 * it prints the counts by outcome.
 */
class SafetensorsFuzzTest {

    static final long DEFAULT_INPUTS = 5_000;
    /** An input taking longer than this counts as a hang. */
    static final long HANG_MILLIS = 1000;

    enum Outcome { CLEAN_REJECTION, ACCEPTED, UNEXPECTED_EXCEPTION, ACCEPTED_AGAINST_THE_REFERENCE, HANG }

    @TempDir Path dir;

    @Test
    void mutatedFilesAreRefusedCleanlyOrReadFully() throws IOException {
        long inputs = Long.getLong("mambaout.fuzz.inputs", DEFAULT_INPUTS);
        long seed = Long.getLong("mambaout.fuzz.seed", 20261202L);
        List<byte[]> seeds = seeds();
        Map<Outcome, Long> counts = new EnumMap<>(Outcome.class);
        for (Outcome o : Outcome.values()) counts.put(o, 0L);
        List<String> examples = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(seed);
        Path file = dir.resolve("fuzz.safetensors");
        long t0 = System.nanoTime();
        for (long i = 0; i < inputs; i++) {
            byte[] input = mutate(seeds, rng);
            Files.write(file, input);
            long start = System.nanoTime();
            Outcome o = classify(file, input, examples);
            if ((System.nanoTime() - start) / 1_000_000 > HANG_MILLIS) {
                o = Outcome.HANG;
                if (examples.size() < 5) examples.add("hang: " + HexFormat.of().formatHex(input, 0, Math.min(input.length, 256)));
            }
            counts.merge(o, 1L, Long::sum);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "safetensors fuzz: %d inputs (seed %d) in %.1f s: %s%n", inputs, seed, seconds, counts);
        examples.forEach(System.out::println);
        assertEquals(0L, counts.get(Outcome.UNEXPECTED_EXCEPTION), "unexpected exceptions, e.g. " + examples);
        assertEquals(0L, counts.get(Outcome.ACCEPTED_AGAINST_THE_REFERENCE), "accepted what the reference refuses: " + examples);
        assertEquals(0L, counts.get(Outcome.HANG), "hangs: " + examples);
        // The mutations must reach both outcomes, or the fuzzer tests nothing.
        assertTrue(counts.get(Outcome.ACCEPTED) > 0 && counts.get(Outcome.CLEAN_REJECTION) > inputs / 2, counts.toString());
    }

    private static Outcome classify(Path file, byte[] input, List<String> examples) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) {
                if (f.info(n).dtype().isFloatingPoint()) f.readDoubles(n);
                else f.readLongs(n);
            }
            f.metadata().size();
            if (!referenceAccepts(input)) {
                if (examples.size() < 5) examples.add("accepted against the reference: " + HexFormat.of().formatHex(input, 0, Math.min(input.length, 256)));
                return Outcome.ACCEPTED_AGAINST_THE_REFERENCE;
            }
            return Outcome.ACCEPTED;
        } catch (SafetensorsFormatException e) {
            assertTrue(e.getMessage().startsWith(file + ": not a valid safetensors file: "), e.getMessage());
            return Outcome.CLEAN_REJECTION;
        } catch (Throwable e) {
            if (examples.size() < 5) {
                examples.add(e + " for " + HexFormat.of().formatHex(input, 0, Math.min(input.length, 256)));
            }
            return Outcome.UNEXPECTED_EXCEPTION;
        }
    }

    /** The reference reader's text rules, checked independently of the reader: strict UTF-8 and a leading '{'. */
    private static boolean referenceAccepts(byte[] input) {
        long n = ByteBuffer.wrap(input, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] header = Arrays.copyOfRange(input, 8, 8 + (int) n);
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(header));
        } catch (CharacterCodingException e) {
            return false;
        }
        return header.length > 0 && header[0] == '{';
    }

    private List<byte[]> seeds() throws IOException {
        List<byte[]> out = new ArrayList<>();
        Path a = dir.resolve("a.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .put("stem.conv1.weight", DType.F32, new float[]{1, -2, 3.5f, 4, 0, 6}, 2, 3)
                .put("b", DType.F16, new float[]{1, 2}, 2)
                .put("n", DType.I64, new long[]{7, -8, 9}, 3)
                .put("u", DType.U8, new long[]{1, 255}, 2)
                .put("d", DType.F64, new double[]{Math.PI}, 1)
                .put("e", DType.BF16, new float[0], 0, 4)
                .write(a);
        out.add(Files.readAllBytes(a));
        Path b = dir.resolve("b.safetensors");
        new SafetensorsWriter().put("caf\u00e9.\u6743\u91cd", DType.I32, new long[]{1, 2, 3, 4}, 2, 2).write(b);
        out.add(Files.readAllBytes(b));
        out.add(RawFilesSeed.minimal());
        return out;
    }

    /** Hand-built seeds the writer would not produce: no padding, an unknown field, a scalar. */
    private static final class RawFilesSeed {
        static byte[] minimal() {
            byte[] h = "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":[1,{\"y\":null}]}}".getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(8 + h.length + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h)
                    .putFloat(1.5f).array();
        }
    }

    private static final byte[] INTERESTING = {0, (byte) 0xff, '{', '}', '"', ',', ':', '[', ']', '-', '0', '1', '9',
            ' ', '.', 'e', '\\', (byte) 0x80, (byte) 0xC0, (byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 0x7f};
    private static final String[] NUMBERS = {"-1", "0", "1", "4", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "1e3", "1.5", "-0", "00", "4294967296", "99999999999999999999999999999999999999999"};
    private static final Charset[] ENCODINGS = {StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE,
            StandardCharsets.UTF_16, Charset.forName("UTF-32LE"), Charset.forName("UTF-32BE")};

    static byte[] mutate(List<byte[]> seeds, SplittableRandom rng) {
        byte[] b = seeds.get(rng.nextInt(seeds.size())).clone();
        int rounds = 1 + rng.nextInt(4);
        for (int r = 0; r < rounds; r++) b = mutateOnce(b, rng);
        return b.length >= 8 ? b : Arrays.copyOf(b, rng.nextInt(9));
    }

    private static byte[] mutateOnce(byte[] b, SplittableRandom rng) {
        if (b.length == 0) return b;
        int at = rng.nextInt(b.length);
        return switch (rng.nextInt(10)) {
            case 0 -> { b[at] ^= (byte) (1 << rng.nextInt(8)); yield b; }
            case 1 -> { b[at] = INTERESTING[rng.nextInt(INTERESTING.length)]; yield b; }
            case 2 -> {   // insert a few bytes
                byte[] ins = new byte[1 + rng.nextInt(4)];
                for (int i = 0; i < ins.length; i++) ins[i] = INTERESTING[rng.nextInt(INTERESTING.length)];
                yield splice(b, at, at, ins);
            }
            case 3 -> splice(b, at, Math.min(b.length, at + 1 + rng.nextInt(8)), new byte[0]);
            case 4 -> Arrays.copyOf(b, at);
            case 5 -> {   // another length field: near the real one, or anything
                long n = headerLength(b);
                long v = rng.nextBoolean() ? n + rng.nextInt(-8, 9) : rng.nextLong();
                if (b.length >= 8) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v);
                yield b;
            }
            case 6 -> replaceNumber(b, rng);
            case 7 -> reencode(b, rng);
            case 8 -> {   // duplicate a slice of the header (fields twice, nested again)
                int end = Math.min(b.length, at + 1 + rng.nextInt(40));
                yield fixLength(splice(b, at, at, Arrays.copyOfRange(b, at, end)), b, end - at, at);
            }
            default -> { b[at] = (byte) rng.nextInt(256); yield b; }
        };
    }

    private static long headerLength(byte[] b) {
        return b.length >= 8 ? ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0) : 0;
    }

    /** Keeps the length field in step with an edit inside the header, so the edit reaches the JSON parser. */
    private static byte[] fixLength(byte[] edited, byte[] original, int delta, int at) {
        long n = headerLength(original);
        if (edited.length >= 8 && at >= 8 && at < 8 + n) {
            ByteBuffer.wrap(edited).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n + delta);
        }
        return edited;
    }

    private static byte[] splice(byte[] b, int from, int to, byte[] with) {
        byte[] out = new byte[b.length - (to - from) + with.length];
        System.arraycopy(b, 0, out, 0, from);
        System.arraycopy(with, 0, out, from, with.length);
        System.arraycopy(b, to, out, from + with.length, b.length - to);
        return fixLength(out, b, with.length - (to - from), from);
    }

    private static byte[] replaceNumber(byte[] b, SplittableRandom rng) {
        long n = headerLength(b);
        if (n <= 0 || 8 + n > b.length) return b;
        List<int[]> numbers = new ArrayList<>();
        for (int i = 8; i < 8 + n; i++) {
            if (b[i] >= '0' && b[i] <= '9') {
                int j = i;
                while (j < 8 + n && b[j] >= '0' && b[j] <= '9') j++;
                numbers.add(new int[]{i, j});
                i = j;
            }
        }
        if (numbers.isEmpty()) return b;
        int[] span = numbers.get(rng.nextInt(numbers.size()));
        return splice(b, span[0], span[1], NUMBERS[rng.nextInt(NUMBERS.length)].getBytes(StandardCharsets.US_ASCII));
    }

    /** The header in another encoding or behind a byte-order mark, with a matching length field. */
    private static byte[] reencode(byte[] b, SplittableRandom rng) {
        long n = headerLength(b);
        if (n <= 0 || 8 + n > b.length) return b;
        String text = new String(b, 8, (int) n, StandardCharsets.UTF_8);
        byte[] header = rng.nextInt(6) == 0
                ? ("\uFEFF" + text).getBytes(StandardCharsets.UTF_8)
                : text.getBytes(ENCODINGS[rng.nextInt(ENCODINGS.length)]);
        ByteBuffer out = ByteBuffer.allocate(8 + header.length + (b.length - 8 - (int) n)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header).put(b, 8 + (int) n, b.length - 8 - (int) n);
        return out.array();
    }
}
