package dev.mambaout.model.train;

import dev.mambaout.model.MambaOutConfig;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

/**
 * Small learnable data written as MNIST-layout IDX files, and a tiny model for it: each image is dim noise with a
 * bright 3x3 square whose position is given by the class, so a few epochs of a small network learn it.
 */
final class Synthetic {

    static final int SIDE = 12;
    static final int PAD = 2;
    static final int SIZE = SIDE + 2 * PAD;
    static final int CLASSES = 10;

    /** One channel, ten classes, two short stages: a few milliseconds per step at 16x16 on the CPU. */
    static final MambaOutConfig TINY = new MambaOutConfig("tiny-test", 1, CLASSES, List.of(1, 1), List.of(8, 16), 8.0 / 3.0,
            1.0, 3, true, MambaOutConfig.Downsample.CONV, false, MambaOutConfig.Activation.GELU, MambaOutConfig.Head.MLP, SIZE, 1.0);

    static final IdxDataset.Transform TRANSFORM = new IdxDataset.Transform(PAD, IdxDataset.FASHION_MNIST_MEAN, IdxDataset.FASHION_MNIST_STD);

    private Synthetic() {}

    static int label(int i, long seed) {
        return (int) Math.floorMod(i * 7L + seed, CLASSES);
    }

    /** Pixels of {@code n} images ({@code side x side}) and their labels. */
    static byte[][] data(int n, int side, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        byte[] px = new byte[n * side * side];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int k = label(i, seed);
            labels[i] = (byte) k;
            for (int j = 0; j < side * side; j++) px[i * side * side + j] = (byte) rng.nextInt(40);
            int x0 = 1 + 2 * (k % 5), y0 = 2 + 5 * (k / 5);
            for (int y = y0; y < y0 + 3; y++) {
                for (int x = x0; x < x0 + 3; x++) px[i * side * side + y * side + x] = (byte) (200 + rng.nextInt(56));
            }
        }
        return new byte[][] {px, labels};
    }

    static byte[] idx3(byte[] pixels, int n, int rows, int cols) {
        ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);
        b.putInt(0x00000803).putInt(n).putInt(rows).putInt(cols).put(pixels);
        return b.array();
    }

    static byte[] idx1(byte[] labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(0x00000801).putInt(labels.length).put(labels);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream z = new GZIPOutputStream(bytes)) {
            z.write(raw);
        }
        return bytes.toByteArray();
    }

    /** A Fashion-MNIST-layout directory (gzip files) with {@code train} and {@code test} images of side {@code side}. */
    static Path writeSplits(Path dir, int train, int test, int side) throws IOException {
        Files.createDirectories(dir);
        byte[][] tr = data(train, side, 1), te = data(test, side, 2);
        Files.write(dir.resolve("train-images-idx3-ubyte.gz"), gzip(idx3(tr[0], train, side, side)));
        Files.write(dir.resolve("train-labels-idx1-ubyte.gz"), gzip(idx1(tr[1])));
        Files.write(dir.resolve("t10k-images-idx3-ubyte.gz"), gzip(idx3(te[0], test, side, side)));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), gzip(idx1(te[1])));
        return dir;
    }

    static TrainConfig config(int batch, int epochs, double lr) {
        return new TrainConfig(TINY, SIZE, batch, epochs, lr, 0.05, TrainConfig.Schedule.ONECYCLE, 0.1, 0.1, 1.0, 7);
    }
}
