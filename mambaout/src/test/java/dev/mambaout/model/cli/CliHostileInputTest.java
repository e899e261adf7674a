package dev.mambaout.model.cli;

import dev.mambaout.graph.DType;
import dev.mambaout.model.Fixtures;
import dev.mambaout.model.checkpoint.SafetensorsFile;
import dev.mambaout.model.checkpoint.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a careless user passes the CLI: each fault in the input ends in exit 1 and one message that names the file or
 * option and what was expected, never "internal error".
 */
class CliHostileInputTest {

    @TempDir Path dir;

    private static CliRun userFault(String... args) {
        CliRun r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> CliRun.of(args));
        assertEquals(1, r.exit(), r.toString());
        assertFalse(r.err().contains("internal error") || r.err().contains("--verbose for the stack trace"), r.toString());
        return r;
    }

    /** The femto fixture rewritten with {@code change} applied to each tensor's values (null: keep as F32). */
    private Path femtoWith(String name, Function<String, float[]> change, String integerTensor) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.shared("femto.safetensors"))) {
            for (String k : f.names()) {
                long[] shape = f.info(k).shape().stream().mapToLong(Long::longValue).toArray();
                float[] v = f.readFloats(k);
                float[] changed = change.apply(k);
                if (k.equals(integerTensor)) w.put(k, DType.I64, new long[v.length], shape);
                else w.put(k, DType.F32, changed != null ? changed : v, shape);
            }
        }
        Path p = dir.resolve(name);
        w.write(p);
        return p;
    }

    @Test
    void nonFiniteWeightsNameTheTensor() throws IOException {
        Path p = femtoWith("nan.safetensors", k -> k.equals("stem.conv1.bias") ? new float[]{Float.NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} : null, null);
        CliRun r = userFault("run", "-m", "femto", "-w", p.toString(), "--image-size", "32");
        assertTrue(r.err().contains("tensor 'stem.conv1.bias' holds 1 of 24 values that are not finite"), r.err());
    }

    @Test
    void dtypeMismatchDoesNotSuggestTheChosenModel() throws IOException {
        Path p = femtoWith("int.safetensors", k -> null, "head.fc.bias");
        CliRun r = userFault("run", "-m", "femto", "-w", p.toString(), "--image-size", "32");
        String first = r.err().lines().findFirst().orElseThrow();
        assertFalse(first.contains("it fits --model femto"), first);
        assertTrue(first.endsWith("its shapes fit --model femto but some tensors are not floating point"), first);
        assertTrue(r.err().contains("head.fc.bias: checkpoint dtype I64 is not floating point"), r.err());
    }

    @Test
    void torchCheckpointSaysHowToConvert() throws IOException {
        Path p = dir.resolve("mambaout_femto.pth");
        try (OutputStream out = Files.newOutputStream(p); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(new byte[]{(byte) 0x80, 2, '}', '.'});
        }
        CliRun r = userFault("run", "-w", p.toString());
        assertTrue(r.err().contains("mambaout_femto.pth") && r.err().contains("convert it to safetensors"), r.err());
    }

    @Test
    void namedPipeAsWeightsOrInputDoesNotHang() throws Exception {
        Path fifo = dir.resolve("weights.safetensors");
        assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "mkfifo is not available here");
        assertTrue(userFault("run", "-w", fifo.toString()).err().contains("is not a regular file"));
        assertTrue(userFault("run", "-i", fifo.toString()).err().contains("is not a regular file"));
        Path img = dir.resolve("cat.png");
        assumeTrue(new ProcessBuilder("mkfifo", img.toString()).start().waitFor() == 0);
        assertTrue(userFault("run", "-i", img.toString()).err().contains("is not a regular file"));
    }

    @Test
    void hugeImageNamesTheLimitNotTheBatch() throws IOException {
        // A PNG header declaring 40000x40000 with almost no data: refused from the header.
        byte[] ihdr = {0, 0, (byte) 0x9c, 0x40, 0, 0, (byte) 0x9c, 0x40, 8, 0, 0, 0, 0};
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream out = new java.io.DataOutputStream(b);
        out.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        for (Object[] c : List.of(new Object[]{"IHDR", ihdr}, new Object[]{"IEND", new byte[0]})) {
            byte[] type = ((String) c[0]).getBytes(java.nio.charset.StandardCharsets.US_ASCII), data = (byte[]) c[1];
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(type);
            crc.update(data);
            out.writeInt(data.length);
            out.write(type);
            out.write(data);
            out.writeInt((int) crc.getValue());
        }
        Path p = Files.write(dir.resolve("bomb.png"), b.toByteArray());
        CliRun r = userFault("run", "-i", p.toString());
        assertTrue(r.err().contains("bomb.png is 40000x40000") && r.err().contains("limit of") && !r.err().contains("--batch"), r.err());
    }

    @Test
    void precisionIsCaseInsensitiveLikeModel() {
        CliRun r = CliRun.of("run", "-m", "FEMTO", "--device", "Cpu", "--precision", "bf16", "--image-size", "32", "-t", "1");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("CPU executor") && r.out().contains("1 thread)"), r.out());
        CliRun bad = CliRun.of("run", "--precision", "f16");
        assertEquals(2, bad.exit(), bad.toString());
        assertTrue(bad.err().contains("--precision") && bad.err().contains("(case-insensitive) but was 'f16'"), bad.err());
    }

    @Test
    void fileNameWithACommaCanBeAnInput() throws IOException {
        BufferedImage img = new BufferedImage(40, 40, BufferedImage.TYPE_INT_RGB);
        Path comma = dir.resolve("cat, sitting.png");
        ImageIO.write(img, "png", comma.toFile());
        CliRun r = CliRun.of("run", "-i", comma.toString(), "--image-size", "32", "-t", "1", "--top", "1");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("input 0: " + comma + " (40x40"), r.out());
        // Commas still separate inputs that are not one existing file.
        CliRun two = CliRun.of("run", "-i", comma + ",random", "--image-size", "32", "-t", "1", "--top", "1");
        assertEquals(1, two.exit(), two.toString());
        CliRun list = CliRun.of("run", "-i", "random,random", "--image-size", "32", "-t", "1", "--top", "1");
        assertEquals(0, list.exit(), list.toString());
        assertTrue(list.out().contains("input 1: random"), list.out());
        CliRun empty = CliRun.of("run", "-i", "random,,random");
        assertEquals(1, empty.exit(), empty.toString());
        assertTrue(empty.err().contains("--input 'random,,random' has an empty item between commas"), empty.err());
    }
}
