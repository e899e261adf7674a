package dev.mambaout.runtime.dist;

import dev.mambaout.natives.nccl.NcclUniqueId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The file rendezvous with processes played by threads: every one gets process 0's id, whoever starts first. */
class FileRendezvousTest {

    private static NcclUniqueId randomId(long seed) {
        byte[] b = new byte[NcclUniqueId.BYTES];
        new Random(seed).nextBytes(b);
        return NcclUniqueId.of(b);
    }

    @Test
    void everyProcessGetsProcessZerosIdEvenWhenTheOthersStartFirst(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("run-1").resolve("nccl-id");
        NcclUniqueId id = randomId(42);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<NcclUniqueId>> got = new ArrayList<>();
            for (int p = 3; p >= 1; p--) {
                int process = p;
                got.add(pool.submit(() -> FileRendezvous.exchange(file, process, () -> {
                    throw new AssertionError("only process 0 makes the id");
                }, Duration.ofSeconds(20))));
            }
            Thread.sleep(300);   // the others are waiting before the file exists
            got.add(pool.submit(() -> FileRendezvous.exchange(file, 0, () -> id, Duration.ofSeconds(20))));
            for (Future<NcclUniqueId> f : got) assertEquals(id, f.get());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(id.hex(), Files.readString(file).strip());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        try (var left = Files.list(file.getParent())) {
            assertEquals(List.of(file), left.toList(), "no temporary file left beside the id");
        }
    }

    @Test
    void aStaleFileATimeoutAndAForeignFileAreRefusedSayingWhy(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("nccl-id");
        Files.writeString(file, randomId(1).hex());
        var stale = assertThrows(UncheckedIOException.class,
                () -> FileRendezvous.exchange(file, 0, () -> randomId(2), Duration.ofSeconds(1)));
        assertTrue(stale.getMessage().contains("it holds the id of an earlier run"), stale.getMessage());

        var late = assertThrows(UncheckedIOException.class,
                () -> FileRendezvous.exchange(dir.resolve("never"), 2, () -> randomId(3), Duration.ofMillis(300)));
        assertTrue(late.getMessage().contains("(process 2): waited 0 s for process 0 to write the NCCL id"), late.getMessage());

        Path junk = dir.resolve("junk");
        Files.writeString(junk, "not hex\n");
        var foreign = assertThrows(UncheckedIOException.class,
                () -> FileRendezvous.exchange(junk, 1, () -> randomId(4), Duration.ofSeconds(1)));
        assertTrue(foreign.getMessage().contains("the file does not hold an NCCL id"), foreign.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FileRendezvous.exchange(file, -1, () -> randomId(5), Duration.ZERO));
    }
}
