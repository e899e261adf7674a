package dev.mambaout.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * CUDA-event times of one trial's measured invocations, the team's standard timing, kept beside JMH's own host-clock
 * numbers. Times go into an array allocated once, so recording allocates nothing per invocation; at the end of the
 * trial {@link #report} writes one JSON line with the median and spread and the metrics derived from the median.
 *
 * <p>The line goes to standard output (JMH shows a fork's output in its log) and, when the system property
 * {@value #OUTPUT_PROPERTY} names a file, is appended there too; forks run one after another, so lines never mix.
 */
final class EventTimes {

    /** File that collects the JSON lines of every trial (forks inherit the host JVM's -D options). */
    static final String OUTPUT_PROPERTY = "mambaout.bench.events";

    private final float[] ms;
    private int count;
    private long dropped;
    private boolean recording;

    EventTimes(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be positive, got " + capacity);
        ms = new float[capacity];
    }

    /** Only measurement iterations count; JMH's warm-up iterations call the same benchmark method. */
    void recording(boolean on) { recording = on; }

    void add(float milliseconds) {
        if (!recording) return;
        if (count < ms.length) ms[count++] = milliseconds;
        else dropped++;
    }

    int count() { return count; }

    /** The p-quantile (0..1) of the recorded times by the nearest-rank rule; NaN when nothing was recorded. */
    double quantile(double p) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("quantile must lie in [0, 1], got " + p);
        if (count == 0) return Double.NaN;
        float[] sorted = Arrays.copyOf(ms, count);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p * count);
        return sorted[Math.max(0, rank - 1)];
    }

    double median() {
        if (count == 0) return Double.NaN;
        float[] sorted = Arrays.copyOf(ms, count);
        Arrays.sort(sorted);
        int mid = count / 2;
        return count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + (double) sorted[mid]) / 2;
    }

    /**
     * Writes the trial's line: what ran, the median and 10th/90th percentiles of the per-invocation event time, and
     * {@code derived} (name to value computed by the caller from the median, e.g. GB/s).
     */
    String report(String benchmark, Map<String, String> params, String device, Map<String, Double> derived) {
        StringBuilder sb = new StringBuilder("{\"benchmark\":").append(quote(benchmark)).append(",\"params\":{");
        int i = 0;
        for (Map.Entry<String, String> e : params.entrySet()) {
            if (i++ > 0) sb.append(',');
            sb.append(quote(e.getKey())).append(':').append(quote(e.getValue()));
        }
        sb.append("},\"device\":").append(quote(device))
                .append(",\"invocations\":").append(count)
                .append(",\"droppedInvocations\":").append(dropped)
                .append(",\"medianMs\":").append(num(median()))
                .append(",\"p10Ms\":").append(num(quantile(0.10)))
                .append(",\"p90Ms\":").append(num(quantile(0.90)));
        for (Map.Entry<String, Double> e : derived.entrySet()) {
            sb.append(',').append(quote(e.getKey())).append(':').append(num(e.getValue()));
        }
        String line = sb.append('}').toString();
        System.out.println("EVENTS " + line);
        String file = System.getProperty(OUTPUT_PROPERTY);
        if (file != null && !file.isBlank()) {
            try {
                Files.writeString(Path.of(file), line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot append the event timings to " + file + " (-D"
                        + OUTPUT_PROPERTY + ")", e);
            }
        }
        return line;
    }

    /** An ordered map for {@link #report}'s derived values. */
    static Map<String, Double> derived(Object... nameValuePairs) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            m.put((String) nameValuePairs[i], ((Number) nameValuePairs[i + 1]).doubleValue());
        }
        return m;
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}
