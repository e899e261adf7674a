package dev.mambaout.model.checkpoint;

import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who releases a mapping, and what a reader sees when its file changes underneath it. */
class LifecycleTest {

    @TempDir Path dir;

    private Path small() throws IOException {
        Path p = dir.resolve("small.safetensors");
        new SafetensorsWriter().put("w", DType.F32, new float[]{1, 2}, 2).write(p);
        return p;
    }

    @Test
    void closeUnmapsOnceAndTwiceIsHarmless() throws IOException {
        Path p = small();
        int before = SafetensorsFile.openFiles();
        SafetensorsFile f = SafetensorsFile.open(p);
        assertEquals(before + 1, SafetensorsFile.openFiles());
        f.close();
        f.close();
        assertEquals(before, SafetensorsFile.openFiles());
        assertThrows(IllegalStateException.class, () -> f.readFloats("w"));
    }

    @Test
    void unclosedFilesAreUnmappedByTheCollector() throws Exception {
        Path p = small();
        int before = SafetensorsFile.openFiles();
        for (int i = 0; i < 200; i++) SafetensorsFile.open(p).readFloats("w");   // leaked on purpose
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (SafetensorsFile.openFiles() > before && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertTrue(SafetensorsFile.openFiles() <= before, "leaked files still mapped: " + SafetensorsFile.openFiles());
    }

    /** Past the cap, with every file still referenced, an open is refused with advice instead of exhausting the map count. */
    @Test
    void tooManyOpenFilesAreRefusedNotCrashed() throws IOException {
        Path p = small();
        List<SafetensorsFile> held = new ArrayList<>();
        try {
            IOException e = assertThrows(IOException.class, () -> {
                for (int i = 0; i <= SafetensorsFile.MAX_OPEN_FILES; i++) held.add(SafetensorsFile.open(p));
            });
            assertTrue(e.getMessage().contains("cannot open " + p) && e.getMessage().contains("try-with-resources"), e.getMessage());
            assertTrue(held.size() <= SafetensorsFile.MAX_OPEN_FILES);
        } finally {
            held.forEach(SafetensorsFile::close);
        }
        SafetensorsFile.open(p).close();
    }

    @Test
    void truncationAfterOpenBecomesTheReadersException() throws IOException {
        Path p = dir.resolve("big.safetensors");
        new SafetensorsWriter().put("w", DType.F32, new float[1 << 20], 1 << 20).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.truncate(4096);
            }
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> f.readFloats("w"));
            assertInstanceOf(SafetensorsFormatException.class, e.getCause());
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("truncated or changed on disk"),
                    e.getMessage());
            assertThrows(UncheckedIOException.class, () -> f.readDoubles("w"));
        }
    }
}
