package dev.mambaout.model.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** IDX reading, padding and normalisation, and every kind of damaged file refused with its name and the fault. */
class IdxFilesTest {

    @TempDir Path dir;

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] pixels(int n, int rows, int cols) {
        byte[] px = new byte[n * rows * cols];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 37);
        return px;
    }

    @Test
    void rawAndGzipReadAlikeAndPadAndNormalise() throws IOException {
        int n = 3, rows = 4, cols = 5;
        byte[] px = pixels(n, rows, cols);
        byte[] labels = {2, 0, 9};
        Path raw = write("i.idx", Synthetic.idx3(px, n, rows, cols)), gz = write("i.gz", Synthetic.gzip(Synthetic.idx3(px, n, rows, cols)));
        IdxFiles.Images a = IdxFiles.readImages(raw), b = IdxFiles.readImages(gz);
        assertEquals(n, a.count());
        assertEquals(rows, a.rows());
        assertEquals(cols, a.cols());
        assertArrayEquals(px, a.pixels());
        assertArrayEquals(px, b.pixels());
        Path lab = write("l.gz", Synthetic.gzip(Synthetic.idx1(labels)));
        assertArrayEquals(labels, IdxFiles.readLabels(lab));

        float mean = 0.25f, std = 0.5f;
        int pad = 2;
        IdxDataset d = IdxDataset.load(raw, lab, 10, new IdxDataset.Transform(pad, mean, std));
        assertEquals(rows + 4, d.height());
        assertEquals(cols + 4, d.width());
        assertEquals(1, d.channels());
        assertEquals(9, d.label(2));
        float[] img = new float[d.sampleFloats() + 3];
        d.image(1, img, 3);
        for (int y = 0; y < d.height(); y++) {
            for (int x = 0; x < d.width(); x++) {
                int sy = y - pad, sx = x - pad;
                int p = sy < 0 || sy >= rows || sx < 0 || sx >= cols ? 0 : px[rows * cols + sy * cols + sx] & 0xff;
                float want = (p / 255f - mean) / std;
                assertEquals(want, img[3 + y * d.width() + x], 0f, "pixel " + x + "," + y);
            }
        }
    }

    private void refused(Path file, boolean images, String... fragments) {
        IOException e = assertThrows(IOException.class, () -> {
            if (images) IdxFiles.readImages(file);
            else IdxFiles.readLabels(file);
        });
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }

    @Test
    void damagedFilesAreRefusedNamingTheFault() throws IOException {
        byte[] good = Synthetic.idx3(pixels(4, 6, 6), 4, 6, 6);
        refused(write("labels-as-images", Synthetic.idx1(new byte[] {1, 2})), true, "has 1 dimensions", "idx3");
        refused(write("images-as-labels", good), false, "has 3 dimensions", "idx1");
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 0, 0, 0, 0, 0};
        refused(write("png", png), true, "is not an IDX file", "0x89504e47");
        byte[] floats = good.clone();
        floats[2] = 0x0D;
        refused(write("floats", floats), true, "data type 0x0d", "unsigned bytes");
        refused(write("short-header", Arrays.copyOf(good, 9)), true, "ends inside the header");
        refused(write("tiny", new byte[] {0, 0}), true, "ends inside the header", "magic");
        refused(write("truncated", Arrays.copyOf(good, good.length - 10)), true, "is truncated", "4 images of 6x6", "134 follow");
        refused(write("trailing", Arrays.copyOf(good, good.length + 1)), true, "has bytes after the 144 data bytes");
        byte[] empty = ByteBuffer.allocate(16).putInt(0x803).putInt(0).putInt(6).putInt(6).array();
        refused(write("empty", empty), true, "holds no items");
        byte[] negative = ByteBuffer.allocate(16).putInt(0x803).putInt(-5).putInt(6).putInt(6).array();
        refused(write("negative", negative), true, "negative");
        byte[] huge = ByteBuffer.allocate(16).putInt(0x803).putInt(1 << 30).putInt(28).putInt(28).array();
        refused(write("huge", huge), true, "more than one Java array");
        byte[] gz = Synthetic.gzip(good);
        refused(write("cut.gz", Arrays.copyOf(gz, gz.length - 12)), true, "truncated or corrupt");
        byte[] bent = gz.clone();
        for (int i = 12; i < 20; i++) bent[i] ^= 0x5A;
        refused(write("bent.gz", bent), true, "corrupt");
        assertThrows(NoSuchFileException.class, () -> IdxFiles.readImages(dir.resolve("absent")));
        refused(dir, true, "not a regular file");
    }

    @Test
    void labelsMustMatchTheImagesAndTheClasses() throws IOException {
        Path images = write("i", Synthetic.idx3(pixels(3, 2, 2), 3, 2, 2));
        Path two = write("l2", Synthetic.idx1(new byte[] {1, 2}));
        DatasetException e = assertThrows(DatasetException.class, () -> IdxDataset.load(images, two, 10, Synthetic.TRANSFORM));
        assertTrue(e.getMessage().contains("holds 2 labels but " + images + " holds 3 images"), e.getMessage());
        Path big = write("l3", Synthetic.idx1(new byte[] {1, 12, 2}));
        e = assertThrows(DatasetException.class, () -> IdxDataset.load(images, big, 10, Synthetic.TRANSFORM));
        assertTrue(e.getMessage().contains("label 12 of item 1 lies outside 0..9"), e.getMessage());
    }

    @Test
    void aMissingDatasetNamesTheDebianPackage() throws IOException {
        DatasetException e = assertThrows(DatasetException.class,
                () -> IdxDataset.fashionMnist(dir.resolve("nowhere"), IdxDataset.Split.TRAIN, Synthetic.TRANSFORM));
        assertTrue(e.getMessage().contains("sudo apt-get install dataset-fashion-mnist"), e.getMessage());
        assertTrue(e.getMessage().contains("/usr/share/datasets/fashion-mnist"), e.getMessage());
        Files.write(dir.resolve("train-images-idx3-ubyte"), Synthetic.idx3(pixels(1, 2, 2), 1, 2, 2));
        e = assertThrows(DatasetException.class, () -> IdxDataset.fashionMnist(dir, IdxDataset.Split.TRAIN, Synthetic.TRANSFORM));
        assertTrue(e.getMessage().contains("has no train-labels-idx1-ubyte.gz"), e.getMessage());
        Files.write(dir.resolve("train-labels-idx1-ubyte"), Synthetic.idx1(new byte[] {4}));
        IdxDataset d = IdxDataset.fashionMnist(dir, IdxDataset.Split.TRAIN, Synthetic.TRANSFORM);
        assertEquals(1, d.size());
        assertEquals(4, d.label(0));
        assertEquals(10, d.numClasses());
    }
}
