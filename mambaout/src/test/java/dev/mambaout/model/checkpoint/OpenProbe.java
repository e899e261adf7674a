package dev.mambaout.model.checkpoint;

import java.nio.file.Path;

/** Run in a JVM of small heap by {@link HeaderHeapTest}: opens each file given and prints its tensor count. */
final class OpenProbe {

    private OpenProbe() {}

    public static void main(String[] args) throws Exception {
        for (String a : args) {
            long t0 = System.nanoTime();
            try (SafetensorsFile f = SafetensorsFile.open(Path.of(a))) {
                System.out.printf("%s: %d tensors, %d metadata, %.0f ms%n", a, f.names().size(), f.metadata().size(),
                        (System.nanoTime() - t0) / 1e6);
            }
        }
    }
}
