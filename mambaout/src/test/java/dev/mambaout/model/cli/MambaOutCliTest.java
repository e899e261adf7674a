package dev.mambaout.model.cli;

import dev.mambaout.model.Fixtures;
import dev.mambaout.model.checkpoint.SafetensorsFile;
import dev.mambaout.model.image.ImageNetLabels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaOutCliTest {

    /** "  index  probability  label" lines of the run output. */
    private static final Pattern PREDICTION = Pattern.compile("^\\s+(\\d+)\\s+(\\d\\.\\d{4})\\s+(.+)$", Pattern.MULTILINE);

    @TempDir Path dir;

    @Test
    void modelsListsEveryVariantWithExactParamsAndGmacs() {
        CliRun r = CliRun.of("models");
        assertEquals(0, r.exit(), r.toString());
        // Parameter counts printed by timm 1.0.29; GMACs as the paper's Table 2 (to one decimal).
        String[][] expected = {{"femto", "7,304,536", "1.2"}, {"kobe", "9,141,208", "1.5"}, {"tiny", "26,545,096", "4.5"},
                {"small", "48,488,072", "9.0"}, {"base", "84,813,092", "15.8"}, {"base_plus_rw", "101,656,552", null}};
        for (String[] e : expected) {
            Matcher m = Pattern.compile("^" + e[0] + "\\s+" + e[1] + "\\s+(\\d+\\.\\d+)\\s", Pattern.MULTILINE).matcher(r.out());
            assertTrue(m.find(), e[0] + " row missing or wrong:\n" + r.out());
            if (e[2] != null) assertEquals(Double.parseDouble(e[2]), Math.round(Double.parseDouble(m.group(1)) * 10) / 10.0, e[0]);
        }
        assertEquals(11, r.out().lines().count(), "header + 10 variants:\n" + r.out());
        assertEquals("", r.err());
    }

    @Test
    void runFemtoOnRandomInputWithRandomWeights() {
        CliRun r = CliRun.of("run", "--model", "femto", "--input", "random", "--threads", "2");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("random weights"), r.out());
        assertTrue(r.out().contains("mambaout_femto: 7,304,536 parameters"), r.out());
        assertTrue(Pattern.compile("forward\\s+\\d+\\.\\d ms for a batch of 1").matcher(r.out()).find(), r.out());
        List<Matcher> rows = predictions(r.out());
        assertEquals(5, rows.size(), r.out());
        double previous = 1;
        for (Matcher m : rows) {
            int index = Integer.parseInt(m.group(1));
            double p = Double.parseDouble(m.group(2));
            assertTrue(p <= previous + 1e-12 && p > 0, "probabilities must be positive and descending:\n" + r.out());
            assertEquals(ImageNetLabels.get(index), m.group(3).strip());
            previous = p;
        }
        assertEquals("", r.err());
    }

    /**
     * End to end against PyTorch: the femto fixture's input tensor through the CLI with the fixture's weights must rank
     * the classes as timm's logits (femto.reference.safetensors) do, with the same softmax probabilities.
     */
    @Test
    void runWithWeightsReproducesTimmsTop5() throws IOException {
        Path weights = Fixtures.shared("femto.safetensors");
        Path reference = Fixtures.shared("femto.reference.safetensors");
        float[] logits;
        try (SafetensorsFile ref = SafetensorsFile.open(reference)) {
            logits = ref.readFloats("logits");
        }
        CliRun r = CliRun.of("run", "--model", "femto", "--weights", weights.toString(), "--input", reference.toString());
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("timm key names"), r.out());
        List<Matcher> rows = predictions(r.out());
        assertEquals(10, rows.size(), "5 rows for each of 2 inputs:\n" + r.out());
        for (int img = 0; img < 2; img++) {
            int base = img * 1000;
            double max = IntStream.range(0, 1000).mapToDouble(i -> logits[base + i]).max().orElseThrow();
            double sum = IntStream.range(0, 1000).mapToDouble(i -> Math.exp(logits[base + i] - max)).sum();
            List<Integer> order = IntStream.range(0, 1000).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -logits[base + i])).toList();
            for (int k = 0; k < 5; k++) {
                Matcher m = rows.get(img * 5 + k);
                assertEquals(order.get(k), Integer.parseInt(m.group(1)), "input " + img + " rank " + k + ":\n" + r.out());
                double p = Math.exp(logits[base + order.get(k)] - max) / sum;
                assertEquals(p, Double.parseDouble(m.group(2)), 1.5e-4, "input " + img + " rank " + k);
            }
        }
    }

    @Test
    void runClassifiesAPngThroughTheEvalTransform() throws IOException {
        BufferedImage img = new BufferedImage(300, 200, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 200; y++) for (int x = 0; x < 300; x++) img.setRGB(x, y, (x % 256) << 16 | (y % 256) << 8 | 90);
        Path png = dir.resolve("photo.png");
        ImageIO.write(img, "png", png.toFile());
        CliRun r = CliRun.of("run", "-m", "mambaout_femto", "-i", png.toString(), "--batch", "2", "--top", "3", "-t", "2");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("photo.png (300x200, resized to 336x224, centre crop 224)"), r.out());
        List<Matcher> rows = predictions(r.out());
        assertEquals(6, rows.size(), r.out());
        // The same image twice in the batch gets the same answer.
        for (int k = 0; k < 3; k++) assertEquals(rows.get(k).group(0).strip(), rows.get(3 + k).group(0).strip());
    }

    @Test
    void unknownModelIsOneLineOnStderr() {
        CliRun r = CliRun.of("run", "--model", "giant");
        assertNotEquals(0, r.exit());
        assertEquals(1, r.err().lines().count(), r.toString());
        assertTrue(r.err().startsWith("mambaout run: unknown MambaOut variant 'giant'; known: femto"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose");
    }

    @Test
    void verboseAddsTheStackTrace() {
        CliRun r = CliRun.of("run", "--model", "giant", "--verbose");
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("\tat "), r.err());
    }

    @Test
    void missingAndBadFilesAreNamed() throws IOException {
        CliRun missing = CliRun.of("run", "--weights", dir.resolve("none.safetensors").toString());
        assertEquals(1, missing.exit(), missing.toString());
        assertTrue(missing.err().contains("none.safetensors does not exist"), missing.err());

        Path notImage = Files.writeString(dir.resolve("cat.jpg"), "definitely not a jpeg");
        CliRun bad = CliRun.of("run", "--input", notImage.toString());
        assertEquals(1, bad.exit(), bad.toString());
        assertTrue(bad.err().contains("cat.jpg") && bad.err().contains("not a PNG or JPEG image"), bad.err());
        assertEquals(1, bad.err().lines().count(), bad.err());
    }

    @Test
    void checkpointOfAnotherModelIsRefused() {
        CliRun r = CliRun.of("run", "--model", "femto", "--weights", Fixtures.resource("mini.safetensors").toString());
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.err().startsWith("mambaout run: checkpoint") && r.err().contains("does not fit model femto"), r.err());
        assertTrue(r.err().lines().findFirst().orElseThrow().endsWith("it fits none of the named variants"), r.err());
        // Hundreds of missing keys are cut to a few lines unless --verbose.
        assertEquals(MambaOutCli.DETAIL_LINES + 2, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("more lines (--verbose shows all)"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void checkpointOfAnotherVariantNamesTheOneItFits() {
        Path weights = Fixtures.shared("femto.safetensors");
        CliRun r = CliRun.of("run", "--model", "kobe", "--weights", weights.toString());
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.err().lines().findFirst().orElseThrow().endsWith("; it fits --model femto"), r.err());
    }

    @Test
    void outOfRangeOptionsAreNamed() {
        String[][] cases = {{"--threads", "0", "--threads must lie in 1..32767, got 0"},
                {"--image-size", "30000", "--image-size 30000 is too large"},
                {"--top", "0", "--top must be >= 1, got 0"},
                {"--batch", "0", "--batch must be >= 1, got 0"}};
        for (String[] c : cases) {
            CliRun r = CliRun.of("run", c[0], c[1]);
            assertEquals(1, r.exit(), r.toString());
            assertTrue(r.err().startsWith("mambaout run: " + c[2]), r.err());
        }
    }

    @Test
    void badUsageExitsWithTwo() {
        CliRun r = CliRun.of("run", "--batch", "many");
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.err().contains("--batch"), r.err());
        CliRun none = CliRun.of();
        assertEquals(2, none.exit(), none.toString());
        assertTrue(none.err().contains("missing command"), none.err());
    }

    private static List<Matcher> predictions(String out) {
        List<Matcher> rows = new ArrayList<>();
        Matcher m = PREDICTION.matcher(out);
        while (m.find()) {
            Matcher one = PREDICTION.matcher(m.group(0));
            if (one.find()) rows.add(one);
        }
        return rows;
    }
}
