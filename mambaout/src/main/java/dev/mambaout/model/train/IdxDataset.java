package dev.mambaout.model.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * MNIST-style data from an idx3 image file and an idx1 label file: one channel, each image zero-padded on every side
 * and normalised as torchvision's {@code Pad(pad)}, {@code ToTensor()}, {@code Normalize(mean, std)} do it (the pad
 * is black, pixel 0, before normalisation; {@code x/255} then {@code (x - mean)/std}, in float32).
 */
public final class IdxDataset implements Dataset {

    /** Fashion-MNIST's training-set statistics, the usual normalisation for it. */
    public static final float FASHION_MNIST_MEAN = 0.2860f;
    public static final float FASHION_MNIST_STD = 0.3530f;
    public static final int FASHION_MNIST_CLASSES = 10;

    /** Where Debian's package {@code dataset-fashion-mnist} installs the files. */
    public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");
    public static final String DEBIAN_PACKAGE = "dataset-fashion-mnist";

    public enum Split {
        TRAIN("train"), TEST("t10k");

        /** The file-name prefix of the split in the MNIST distribution. */
        final String prefix;

        Split(String prefix) { this.prefix = prefix; }
    }

    /**
     * @param pad  zero pixels added on each side (28x28 with pad 2 becomes 32x32)
     * @param mean subtracted after scaling to [0, 1]
     * @param std  divided by after the mean
     */
    public record Transform(int pad, float mean, float std) {
        public static final Transform FASHION_MNIST_32 = new Transform(2, FASHION_MNIST_MEAN, FASHION_MNIST_STD);

        public Transform {
            if (pad < 0) throw new IllegalArgumentException("pad must be >= 0, got " + pad);
            if (!(std > 0) || !Float.isFinite(std)) throw new IllegalArgumentException("std must be a positive number, got " + std);
            if (!Float.isFinite(mean)) throw new IllegalArgumentException("mean must be finite, got " + mean);
        }
    }

    private final String description;
    private final IdxFiles.Images images;
    private final byte[] labels;
    private final int numClasses;
    private final int pad;
    /** The normalised value of each pixel byte, so an image is a table look-up per pixel. */
    private final float[] table = new float[256];
    private final float padValue;

    private IdxDataset(String description, IdxFiles.Images images, byte[] labels, int numClasses, Transform t) {
        this.description = description;
        this.images = images;
        this.labels = labels;
        this.numClasses = numClasses;
        this.pad = t.pad();
        for (int p = 0; p < 256; p++) table[p] = (p / 255f - t.mean()) / t.std();
        this.padValue = table[0];
    }

    /** Reads an image file and its label file; every label must lie in {@code [0, numClasses)}. */
    public static IdxDataset load(Path imageFile, Path labelFile, int numClasses, Transform t) throws IOException {
        if (numClasses < 1 || numClasses > 256) throw new IllegalArgumentException("numClasses must lie in 1..256 for byte labels, got " + numClasses);
        IdxFiles.Images images = IdxFiles.readImages(imageFile);
        byte[] labels = IdxFiles.readLabels(labelFile);
        if (labels.length != images.count()) {
            throw new DatasetException(labelFile, "holds " + labels.length + " labels but " + imageFile + " holds "
                    + images.count() + " images");
        }
        for (int i = 0; i < labels.length; i++) {
            if ((labels[i] & 0xff) >= numClasses) {
                throw new DatasetException(labelFile, "label " + (labels[i] & 0xff) + " of item " + i + " lies outside 0.."
                        + (numClasses - 1) + " (" + numClasses + " classes)");
            }
        }
        String d = String.format(Locale.ROOT, "%s (%d images %dx%d, pad %d -> %dx%d, mean %.4f std %.4f)", imageFile,
                images.count(), images.rows(), images.cols(), t.pad(), images.rows() + 2 * t.pad(),
                images.cols() + 2 * t.pad(), t.mean(), t.std());
        return new IdxDataset(d, images, labels, numClasses, t);
    }

    /**
     * One split of Fashion-MNIST (or MNIST) as distributed: {@code train-images-idx3-ubyte[.gz]},
     * {@code train-labels-idx1-ubyte[.gz]}, {@code t10k-...}, 10 classes. A missing directory names the Debian package.
     */
    public static IdxDataset fashionMnist(Path dir, Split split, Transform t) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new DatasetException(dir, "no Fashion-MNIST here (not a directory). Install Debian's package " + DEBIAN_PACKAGE
                    + " (sudo apt-get install " + DEBIAN_PACKAGE + "), which puts it in " + DEBIAN_FASHION_MNIST
                    + ", or pass --data DIR holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                    + "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzip or raw)");
        }
        return load(find(dir, split.prefix + "-images-idx3-ubyte"), find(dir, split.prefix + "-labels-idx1-ubyte"),
                FASHION_MNIST_CLASSES, t);
    }

    private static Path find(Path dir, String base) throws DatasetException {
        for (String name : new String[] {base + ".gz", base}) {
            Path p = dir.resolve(name);
            if (Files.exists(p)) return p;
        }
        throw new DatasetException(dir, "has no " + base + ".gz (nor " + base + "); an MNIST-layout directory holds "
                + "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte"
                + " (from Debian's package " + DEBIAN_PACKAGE + ": sudo apt-get install " + DEBIAN_PACKAGE + ")");
    }

    @Override public int size() { return images.count(); }

    @Override public int channels() { return 1; }

    @Override public int height() { return images.rows() + 2 * pad; }

    @Override public int width() { return images.cols() + 2 * pad; }

    @Override public int numClasses() { return numClasses; }

    @Override public int label(int index) {
        return labels[index] & 0xff;
    }

    @Override
    public void image(int index, float[] dst, int offset) {
        int rows = images.rows(), cols = images.cols(), w = width(), h = height();
        byte[] px = images.pixels();
        int src = index * rows * cols;
        for (int y = 0; y < h; y++) {
            int row = offset + y * w;
            int sy = y - pad;
            if (sy < 0 || sy >= rows) {
                Arrays.fill(dst, row, row + w, padValue);
                continue;
            }
            Arrays.fill(dst, row, row + pad, padValue);
            int s = src + sy * cols;
            for (int x = 0; x < cols; x++) dst[row + pad + x] = table[px[s + x] & 0xff];
            Arrays.fill(dst, row + pad + cols, row + w, padValue);
        }
    }

    @Override public String describe() { return description; }
}
