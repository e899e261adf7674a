package dev.mambaout.model.train;

import dev.mambaout.model.image.EvalTransform;
import dev.mambaout.model.image.ImageFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageFolderDatasetTest {

    @TempDir Path root;

    private static final EvalTransform T = new EvalTransform(16, 1.0, EvalTransform.IMAGENET_MEAN, EvalTransform.IMAGENET_STD);

    private static void png(Path file, int rgb) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(20, 24, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 24; y++) for (int x = 0; x < 20; x++) img.setRGB(x, y, rgb + x * 5 + y);
        ImageIO.write(img, "png", file.toFile());
    }

    @Test
    void classesInSortedOrderAndImagesThroughTheEvalTransform() throws IOException {
        png(root.resolve("zebra/b.png"), 0x102030);
        png(root.resolve("zebra/a.png"), 0x405060);
        png(root.resolve("ant/x.PNG"), 0x708090);
        Files.writeString(root.resolve("ant/notes.txt"), "not an image");
        png(root.resolve("ant/.hidden.png"), 0);
        png(root.resolve(".cache/c.png"), 0);
        ImageFolderDataset d = ImageFolderDataset.open(root, T);
        assertEquals(List.of("ant", "zebra"), d.classes());
        assertEquals(3, d.size());
        assertEquals(2, d.numClasses());
        assertEquals(3, d.channels());
        assertEquals(16, d.height());
        assertEquals(root.resolve("ant/x.PNG"), d.file(0));
        assertEquals(root.resolve("zebra/a.png"), d.file(1));
        assertEquals(0, d.label(0));
        assertEquals(1, d.label(1));
        assertEquals(1, d.label(2));
        float[] img = new float[d.sampleFloats()];
        d.image(2, img, 0);
        assertArrayEquals(T.apply(ImageFiles.read(root.resolve("zebra/b.png"))), img);
    }

    @Test
    void emptyClassFoldersAndMissingClassesAreRefused() throws IOException {
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFolderDataset.open(root.resolve("absent"), T));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
        Files.writeString(root.resolve("loose.png"), "x");
        e = assertThrows(DatasetException.class, () -> ImageFolderDataset.open(root, T));
        assertTrue(e.getMessage().contains("has no class folders"), e.getMessage());
        png(root.resolve("cat/1.png"), 0x101010);
        Files.createDirectories(root.resolve("dog"));
        Files.writeString(root.resolve("dog/readme.md"), "no images here");
        e = assertThrows(DatasetException.class, () -> ImageFolderDataset.open(root, T));
        assertTrue(e.getMessage().contains(root.resolve("dog").toString()) && e.getMessage().contains("class folder 'dog' holds no images"),
                e.getMessage());
        png(root.resolve("dog/2.jpg.png"), 0x202020);
        assertEquals(2, ImageFolderDataset.open(root, T).size());
        e = assertThrows(DatasetException.class, () -> ImageFolderDataset.open(root, T, List.of("cat", "dog", "emu")));
        assertTrue(e.getMessage().contains("but the training split has [cat, dog, emu]"), e.getMessage());
    }

    @Test
    void anUndecodableImageNamesItself() throws IOException {
        png(root.resolve("cat/1.png"), 0x101010);
        Files.writeString(root.resolve("cat/2.png"), "this is not a PNG");
        ImageFolderDataset d = ImageFolderDataset.open(root, T);
        IOException e = assertThrows(IOException.class, () -> d.image(1, new float[d.sampleFloats()], 0));
        assertTrue(e.getMessage().contains("2.png"), e.getMessage());
    }
}
