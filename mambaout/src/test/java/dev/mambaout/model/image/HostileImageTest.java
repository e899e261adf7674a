package dev.mambaout.model.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.awt.image.Raster;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Images built here to be too large, damaged or unusual: each is refused with the file and the reason, before any
 * large allocation, or (CMYK) read with the right colours.
 */
class HostileImageTest {

    @TempDir Path dir;

    private IOException refused(Path f, String... fragments) {
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(IOException.class, () -> ImageFiles.read(f)));
        assertTrue(e.getMessage().contains(f.toString()), "names the file: " + e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), "expected '" + s + "' in: " + e.getMessage());
        return e;
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        out.writeInt(data.length);
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }

    /** A well-formed grey PNG of the given size whose pixel rows are all zero, compressed (so tiny on disk). */
    private Path greyPng(String name, int w, int h, int rowsWritten) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(b);
        out.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", new byte[]{(byte) (w >>> 24), (byte) (w >>> 16), (byte) (w >>> 8), (byte) w,
                (byte) (h >>> 24), (byte) (h >>> 16), (byte) (h >>> 8), (byte) h, 8, 0, 0, 0, 0});
        Deflater d = new Deflater(9);
        d.setInput(new byte[(w + 1) * rowsWritten]);
        d.finish();
        byte[] z = new byte[1 << 20];
        int n = d.deflate(z);
        chunk(out, "IDAT", Arrays.copyOf(z, n));
        chunk(out, "IEND", new byte[0]);
        return Files.write(dir.resolve(name), b.toByteArray());
    }

    @Test
    void decompressionBombPngIsRefusedFromItsHeader() throws IOException {
        refused(greyPng("bomb.png", 40000, 40000, 16), "is 40000x40000 = 1600000000 pixels", "limit of " + ImageFiles.MAX_PIXELS);
        refused(greyPng("wide.png", Integer.MAX_VALUE, 1, 0), "pixels, more than the limit");
        // Just under the limit in one dimension is still decoded normally.
        assertEquals(20000, ImageFiles.read(greyPng("strip.png", 20000, 2, 2)).width());
    }

    private byte[] jpeg(int w, int h, long seed) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rng.nextInt(1 << 24));
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, "jpg", b));
        return b.toByteArray();
    }

    private static int marker(byte[] j, int code) {
        for (int i = 0; i + 1 < j.length; i++) if ((j[i] & 0xff) == 0xff && (j[i + 1] & 0xff) == code) return i;
        throw new AssertionError("no marker " + Integer.toHexString(code));
    }

    @Test
    void decompressionBombJpegIsRefusedFromItsHeader() throws IOException {
        byte[] j = jpeg(16, 16, 1);
        int sof = marker(j, 0xC0);
        j[sof + 5] = (byte) 0xFD; j[sof + 6] = (byte) 0xE8;   // height 65000
        j[sof + 7] = (byte) 0xFD; j[sof + 8] = (byte) 0xE8;   // width 65000
        refused(Files.write(dir.resolve("bomb.jpg"), j), "65000x65000", "limit of " + ImageFiles.MAX_PIXELS);
    }

    @Test
    void truncatedJpegIsRefusedNotGreyFilled() throws IOException {
        byte[] j = jpeg(256, 256, 2);
        refused(Files.write(dir.resolve("half.jpg"), Arrays.copyOf(j, j.length / 2)), "is damaged");
    }

    @Test
    void corruptJpegScanIsRefused() throws IOException {
        byte[] j = jpeg(64, 64, 3);
        int eoi = j.length - 2;
        byte[] bad = new byte[j.length + 3];
        System.arraycopy(j, 0, bad, 0, eoi);
        bad[eoi] = 0x12; bad[eoi + 1] = 0x34; bad[eoi + 2] = 0x56;   // stray bytes where the EOI marker belongs
        bad[eoi + 3] = (byte) 0xff; bad[eoi + 4] = (byte) 0xd9;
        refused(Files.write(dir.resolve("stray.jpg"), bad), "is damaged");
    }

    @Test
    void pngWithABadCrcIsRefused() throws IOException {
        byte[] p = Files.readAllBytes(greyPng("ok.png", 8, 8, 8));
        assertEquals(8, ImageFiles.read(dir.resolve("ok.png")).width());
        p[8 + 8 + 13 + 4 - 1] ^= 1;   // the IHDR CRC's last byte
        refused(Files.write(dir.resolve("crc.png"), p), "chunk 'IHDR' at byte 8 fails its CRC check");
        byte[] q = Files.readAllBytes(dir.resolve("ok.png"));
        q[8 + 25 + 8] ^= 0x40;        // the first byte of IDAT's data
        refused(Files.write(dir.resolve("idat.png"), q), "chunk 'IDAT' at byte 33 fails its CRC check");
    }

    /**
     * CMYK and YCCK JPEGs (as print workflows and Photoshop save them, with Adobe's inverted samples): the JDK alone
     * refuses or miscolours them; the plugin converts them. Pure cyan ink must come out cyan, white paper white.
     */
    @ParameterizedTest(name = "Adobe transform {0}")
    @ValueSource(ints = {0, 2})
    void cmykAndYcckJpegsAreReadInTheirColours(int transform) throws IOException {
        // Adobe CMYK stores 255 - ink: left half full cyan, right half no ink at all.
        int[] cyan = {0, 255, 255, 255}, paper = {255, 255, 255, 255};
        if (transform == 2) {   // YCCK: R, G, B = 255 - stored C, M, Y (the ink), turned to YCbCr (JFIF's formulas); K as is
            cyan = ycc(cyan);
            paper = ycc(paper);
        }
        WritableRaster r = Raster.createInterleavedRaster(java.awt.image.DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) r.setPixel(x, y, x < 8 ? cyan : paper);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(b)) {
            w.setOutput(out);
            w.write(null, new IIOImage(r, null, null), null);
        } finally {
            w.dispose();
        }
        // The JDK's writer stores the four components as given; Adobe's APP14 marker (its transform: 0 none, 2 YCCK)
        // is what tells readers, Pillow included, what they are. It goes right after SOI.
        byte[] raw = b.toByteArray();
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
        byte[] jpeg = new byte[raw.length + app14.length];
        System.arraycopy(raw, 0, jpeg, 0, 2);
        System.arraycopy(app14, 0, jpeg, 2, app14.length);
        System.arraycopy(raw, 2, jpeg, 2 + app14.length, raw.length - 2);
        Path f = Files.write(dir.resolve("cmyk" + transform + ".jpg"), jpeg);
        Rgb8Image img = ImageFiles.read(f);
        int red = img.get(3, 8, 0), green = img.get(3, 8, 1), blue = img.get(3, 8, 2);
        assertTrue(red < 100 && green > 120 && blue > 180, "cyan ink reads as cyan, got " + red + "," + green + "," + blue);
        for (int c = 0; c < 3; c++) assertTrue(img.get(12, 8, c) > 230, "paper reads as white, channel " + c + " = " + img.get(12, 8, c));
    }

    private static int[] ycc(int[] cmyk) {
        double r = 255 - cmyk[0], g = 255 - cmyk[1], b = 255 - cmyk[2];
        return new int[]{to8(0.299 * r + 0.587 * g + 0.114 * b), to8(128 - 0.168736 * r - 0.331264 * g + 0.5 * b),
                to8(128 + 0.5 * r - 0.418688 * g - 0.081312 * b), cmyk[3]};
    }

    private static int to8(double v) {
        return (int) Math.clamp(Math.round(v), 0, 255);
    }
}
