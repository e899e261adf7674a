package dev.mambaout.model.train;

import dev.mambaout.model.image.EvalTransform;
import dev.mambaout.model.image.ImageFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * torchvision's {@code ImageFolder} layout: one subfolder per class, classes numbered in sorted order of their names,
 * the images of a class in sorted order of their file names. Images are decoded when the loader asks for them
 * ({@link ImageFiles#read}, as {@code run} reads them) and go through timm's evaluation transform (resize, centre
 * crop, ImageNet mean and std): three channels. Files whose extension is not an image format ImageIO reads are
 * skipped, as ImageFolder skips them; hidden entries (a leading dot) too.
 */
public final class ImageFolderDataset implements Dataset {

    /** torchvision's IMG_EXTENSIONS less those ImageIO has no reader for (ppm, pgm, webp). */
    static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff");

    private final Path root;
    private final List<String> classes;
    private final List<Path> files;
    private final int[] labels;
    private final EvalTransform transform;

    private ImageFolderDataset(Path root, List<String> classes, List<Path> files, int[] labels, EvalTransform transform) {
        this.root = root;
        this.classes = List.copyOf(classes);
        this.files = List.copyOf(files);
        this.labels = labels;
        this.transform = transform;
    }

    public static ImageFolderDataset open(Path root, EvalTransform transform) throws IOException {
        return open(root, transform, null);
    }

    /**
     * @param expectedClasses the class names another split of the same data has (null: any); a test split whose
     *                        classes differ from the training split's would be scored against the wrong indices
     */
    public static ImageFolderDataset open(Path root, EvalTransform transform, List<String> expectedClasses) throws IOException {
        if (!Files.isDirectory(root)) throw new DatasetException(root, "is not a directory; an image folder has one subfolder per class");
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).filter(p -> !hidden(p)).sorted().toList();
        }
        if (classDirs.isEmpty()) {
            throw new DatasetException(root, "has no class folders; an image folder holds one subfolder per class "
                    + "(root/cat/1.png, root/dog/2.jpg, ...)");
        }
        List<String> classes = classDirs.stream().map(p -> p.getFileName().toString()).toList();
        if (expectedClasses != null && !expectedClasses.equals(classes)) {
            throw new DatasetException(root, "has classes " + classes + " but the training split has " + expectedClasses);
        }
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < classDirs.size(); c++) {
            List<Path> images;
            try (Stream<Path> s = Files.list(classDirs.get(c))) {
                images = s.filter(Files::isRegularFile).filter(p -> !hidden(p)).filter(ImageFolderDataset::isImage).sorted().toList();
            }
            if (images.isEmpty()) {
                throw new DatasetException(classDirs.get(c), "class folder '" + classes.get(c) + "' holds no images ("
                        + String.join(", ", EXTENSIONS.stream().sorted().toList()) + "); remove it or add its images");
            }
            for (Path p : images) {
                files.add(p);
                labels.add(c);
            }
        }
        return new ImageFolderDataset(root, classes, files, labels.stream().mapToInt(Integer::intValue).toArray(), transform);
    }

    private static boolean hidden(Path p) {
        return p.getFileName().toString().startsWith(".");
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** Class names in label order. */
    public List<String> classes() { return classes; }

    public Path file(int index) { return files.get(index); }

    @Override public int size() { return files.size(); }

    @Override public int channels() { return 3; }

    @Override public int height() { return transform.imageSize(); }

    @Override public int width() { return transform.imageSize(); }

    @Override public int numClasses() { return classes.size(); }

    @Override public int label(int index) { return labels[index]; }

    @Override
    public void image(int index, float[] dst, int offset) throws IOException {
        transform.apply(ImageFiles.read(files.get(index)), dst, offset);
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "%s (%d images in %d classes, resized and centre-cropped to %d)", root,
                files.size(), classes.size(), transform.imageSize());
    }
}
