package dev.mambaout.model.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Files that are not safetensors at all, passed by mistake: each gets a message that says what it is and what to do. */
class ForeignFileTest {

    @TempDir Path dir;

    @Test
    void torchZipCheckpointIsNamedWithTheConversion() throws IOException {
        Path p = dir.resolve("model.pth");
        try (OutputStream out = Files.newOutputStream(p); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(new byte[]{(byte) 0x80, 2, '}', '.'});
            zip.closeEntry();
        }
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> TensorSource.open(p).close());
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("zip archive, as PyTorch's torch.save writes")
                && e.getMessage().contains("st.save_file(") && !e.getMessage().contains("header length"), e.getMessage());
    }

    @Test
    void torchPickleCheckpointIsNamedWithTheConversion() throws IOException {
        Path p = dir.resolve("old.pth");
        Files.write(p, new byte[]{(byte) 0x80, 2, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8});
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> TensorSource.open(p).close());
        assertTrue(e.getMessage().contains("Python pickle") && e.getMessage().contains("safetensors"), e.getMessage());
    }

    /** A named pipe would block the open until some writer appears; it is refused by its kind instead. */
    @Test
    void namedPipeIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("pipe.safetensors");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assumeTrue(mk.waitFor() == 0, "mkfifo is not available here");
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(IOException.class, () -> TensorSource.open(fifo).close()));
        assertTrue(e.getMessage().contains(fifo + " is not a regular file"), e.getMessage());
        Path index = dir.resolve(ShardedSafetensors.INDEX_NAME);
        Files.delete(fifo);
        assumeTrue(new ProcessBuilder("mkfifo", index.toString()).start().waitFor() == 0);
        IOException i = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(IOException.class, () -> TensorSource.open(index).close()));
        assertTrue(i.getMessage().contains(index + " is not a regular file"), i.getMessage());
    }
}
