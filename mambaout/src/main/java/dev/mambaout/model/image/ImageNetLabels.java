package dev.mambaout.model.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The ImageNet-1k (ILSVRC-2012) class names in the index order every 1000-class checkpoint uses (synsets sorted by
 * WordNet id: 0 tench, 1 goldfish, ..., 999 toilet tissue). The list is the widely shipped {@code imagenet_classes.txt}
 * (one short name per line, as in PyTorch Hub's examples); its names are not unique ("crane" is both 134, the bird,
 * and 517, the machine; "maillot" is 638 and 639), as in the original synset glosses.
 */
public final class ImageNetLabels {

    public static final int COUNT = 1000;
    static final String RESOURCE = "imagenet1k_labels.txt";

    private static final List<String> LABELS = load();

    private ImageNetLabels() {}

    public static List<String> all() {
        return LABELS;
    }

    public static String get(int index) {
        if (index < 0 || index >= COUNT) throw new IndexOutOfBoundsException("ImageNet-1k class index " + index + " is outside 0.." + (COUNT - 1));
        return LABELS.get(index);
    }

    private static List<String> load() {
        try (InputStream in = ImageNetLabels.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("resource " + RESOURCE + " is missing beside " + ImageNetLabels.class.getName());
            List<String> out = new ArrayList<>(COUNT);
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (!line.isBlank()) out.add(line.strip());
                }
            }
            if (out.size() != COUNT) throw new IllegalStateException("resource " + RESOURCE + " has " + out.size() + " labels, expected " + COUNT);
            return List.copyOf(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + RESOURCE, e);
        }
    }
}
