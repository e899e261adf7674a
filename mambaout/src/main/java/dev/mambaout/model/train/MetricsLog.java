package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The run's metrics as JSON lines, one object per line, flushed as written so a killed run keeps every line up to
 * its last step. Two kinds:
 * <pre>
 * {"kind":"step","epoch":1,"step":50,"lr":..,"loss":..,"accuracy":..,"img_per_s":..,"seconds":..,"grad_norm":..}
 * {"kind":"epoch","epoch":1,"step":234,"lr":..,"loss":..,"accuracy":..,"test_loss":..,"test_accuracy":..,"img_per_s":..,"seconds":..}
 * </pre>
 * {@code epoch} counts from 1; {@code step} is the number of optimiser updates done; {@code loss} and
 * {@code accuracy} are the training batches' (mean over the interval or the epoch, before each update); {@code lr}
 * is the last update's; {@code seconds} is wall time since the process started training; {@code grad_norm} is the
 * mean global gradient norm before clipping.
 */
public final class MetricsLog implements AutoCloseable {

    public static final String STEP = "step";
    public static final String EPOCH = "epoch";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BufferedWriter out;

    /**
     * Opens the file for appending after dropping every line past {@code keepUpToStep}: a resumed run continues
     * from its checkpoint, so lines a killed run wrote after that checkpoint would otherwise appear twice.
     */
    public MetricsLog(Path file, long keepUpToStep) throws IOException {
        if (Files.exists(file)) {
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                JsonNode n = parse(file, line);
                if (n.path("step").asLong(Long.MAX_VALUE) <= keepUpToStep) kept.add(line);
            }
            Path tmp = file.resolveSibling("." + file.getFileName() + ".partial");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    public static ObjectNode line(String kind, int epoch, long step, double lr, double loss, double accuracy,
                                  double imagesPerSecond, double seconds) {
        ObjectNode n = JSON.createObjectNode();
        n.put("kind", kind);
        n.put("epoch", epoch);
        n.put("step", step);
        n.put("lr", lr);
        n.put("loss", loss);
        n.put("accuracy", accuracy);
        n.put("img_per_s", imagesPerSecond);
        n.put("seconds", seconds);
        return n;
    }

    public void write(ObjectNode line) throws IOException {
        out.write(JSON.writeValueAsString(line));
        out.newLine();
        out.flush();
    }

    /** Every line of a metrics file, in order. */
    public static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) if (!line.isBlank()) lines.add(parse(file, line));
        return lines;
    }

    private static JsonNode parse(Path file, String line) throws IOException {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new IOException("metrics file " + file + " holds a line that is not JSON: "
                    + (line.length() > 80 ? line.substring(0, 80) + "..." : line), e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
