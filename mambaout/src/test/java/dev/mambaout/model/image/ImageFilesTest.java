package dev.mambaout.model.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageFilesTest {

    @TempDir Path dir;

    @Test
    void rgbPngRoundTripsExactly() throws IOException {
        BufferedImage img = new BufferedImage(5, 3, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 5; x++) img.setRGB(x, y, (x * 50) << 16 | (y * 100) << 8 | (x + y));
        Path f = write(img, "png", "rgb.png");
        Rgb8Image r = ImageFiles.read(f);
        assertEquals(5, r.width());
        assertEquals(3, r.height());
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                assertEquals(x * 50, r.get(x, y, 0));
                assertEquals(y * 100, r.get(x, y, 1));
                assertEquals(x + y, r.get(x, y, 2));
            }
        }
    }

    /** PIL repeats the stored grey level; Java's getRGB would map 100 (linear) to about 170 (sRGB). */
    @Test
    void greyPngRepeatsTheStoredLevel() throws IOException {
        BufferedImage img = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setSample(0, 0, 0, 100);
        img.getRaster().setSample(3, 1, 0, 7);
        Rgb8Image r = ImageFiles.read(write(img, "png", "grey.png"));
        for (int c = 0; c < 3; c++) {
            assertEquals(100, r.get(0, 0, c));
            assertEquals(7, r.get(3, 1, c));
            assertEquals(0, r.get(1, 0, c));
        }
    }

    @Test
    void alphaIsDroppedNotBlended() throws IOException {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 10 << 16 | 20 << 8 | 30);          // alpha 0
        img.setRGB(1, 0, 0x80 << 24 | 200 << 16 | 100 << 8 | 50);
        Rgb8Image r = ImageFiles.read(write(img, "png", "rgba.png"));
        assertEquals(10, r.get(0, 0, 0));
        assertEquals(20, r.get(0, 0, 1));
        assertEquals(30, r.get(0, 0, 2));
        assertEquals(200, r.get(1, 0, 0));
        assertEquals(50, r.get(1, 0, 2));
    }

    @Test
    void jpegDecodesToNearlyTheStoredColour() throws IOException {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) img.setRGB(x, y, 180 << 16 | 90 << 8 | 40);
        Rgb8Image r = ImageFiles.read(write(img, "jpg", "flat.jpg"));
        assertEquals(16, r.width());
        // Lossy colour conversion and quantisation of a flat block stay within a few levels.
        assertTrue(Math.abs(r.get(7, 7, 0) - 180) <= 3, "R " + r.get(7, 7, 0));
        assertTrue(Math.abs(r.get(7, 7, 1) - 90) <= 3, "G " + r.get(7, 7, 1));
        assertTrue(Math.abs(r.get(7, 7, 2) - 40) <= 3, "B " + r.get(7, 7, 2));
    }

    @Test
    void nonImageFileIsRejectedClearly() throws IOException {
        Path f = Files.writeString(dir.resolve("notes.png"), "this is text, not an image\n");
        var e = assertThrows(IOException.class, () -> ImageFiles.read(f));
        assertTrue(e.getMessage().contains("not a PNG or JPEG image") && e.getMessage().contains("notes.png"), e.getMessage());
    }

    @Test
    void truncatedPngIsRejectedClearly() throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) img.setRGB(x, y, x * 3001 + y * 17);
        Path ok = write(img, "png", "full.png");
        byte[] bytes = Files.readAllBytes(ok);
        Path cut = Files.write(dir.resolve("cut.png"), Arrays.copyOf(bytes, bytes.length / 2));
        var e = assertThrows(IOException.class, () -> ImageFiles.read(cut));
        assertTrue(e.getMessage().contains("cut.png is damaged") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        Path f = dir.resolve("nope.jpg");
        var e = assertThrows(IOException.class, () -> ImageFiles.read(f));
        assertTrue(e.getMessage().contains("does not exist") && e.getMessage().contains("nope.jpg"), e.getMessage());
    }

    @Test
    void directoryIsRejected() {
        var e = assertThrows(IOException.class, () -> ImageFiles.read(dir));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }

    private Path write(BufferedImage img, String format, String name) throws IOException {
        Path f = dir.resolve(name);
        assertTrue(ImageIO.write(img, format, f.toFile()), "no ImageIO writer for " + format);
        return f;
    }
}
