package dev.mambaout.model.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reader's heap promise ({@link SafetensorsFile#HEAP_BYTES_PER_HEADER_BYTE} per header byte plus
 * {@link SafetensorsFile#HEAP_BASE_BYTES}), checked in a forked JVM whose {@code -Xmx} is exactly that bound: the
 * costliest headers of 16 MiB must all open. (At the 100 MiB cap the same headers open in 416 MiB; see
 * {@code bench/results/2026-12-02-hostile-input.md}.)
 */
class HeaderHeapTest {

    @TempDir Path dir;

    @Test
    void costliestHeadersOpenWithinTheStatedHeap() throws IOException, InterruptedException {
        int headerBytes = 16 << 20;
        long bound = (long) SafetensorsFile.HEAP_BYTES_PER_HEADER_BYTE * headerBytes + SafetensorsFile.HEAP_BASE_BYTES;
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + (bound >> 20) + "m", "-cp", System.getProperty("java.class.path"), OpenProbe.class.getName()));
        for (HeaderBombs b : HeaderBombs.values()) {
            command.add(b.write(dir.resolve(b.name() + ".safetensors"), headerBytes).toString());
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe finished");
        assertEquals(0, p.exitValue(), "every header opens in " + (bound >> 20) + " MiB:\n" + out);
        for (HeaderBombs b : HeaderBombs.values()) {
            assertTrue(out.contains(b.name() + ".safetensors: "), out);
        }
        assertTrue(out.contains("65536 metadata"), out);
    }
}
