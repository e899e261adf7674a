package dev.mambaout.runtime.dist;

import dev.mambaout.natives.nccl.NcclUniqueId;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * How the processes of a multi-machine run agree on one NCCL unique id: through a file on storage they all see
 * (a shared filesystem, as torch.distributed's {@code file://} init method uses). The first process writes the id
 * (atomically: written beside the file, then moved into place, readable by its owner only, since whoever holds
 * the id can join the run); the others wait for the file and read it. A file left by an earlier run would join
 * this run to a dead one, so the first process refuses an existing file: use a fresh path per run.
 */
public final class FileRendezvous {

    private static final Duration POLL = Duration.ofMillis(100);

    private FileRendezvous() {}

    /**
     * @param file    the shared path, the same for every process and new for this run
     * @param process this process's index among the run's processes: 0 makes the id
     * @param makeId  the id's source (NCCL's {@code ncclGetUniqueId}; tests pass their own)
     * @param timeout how long the others wait for process 0's file
     */
    public static NcclUniqueId exchange(Path file, int process, Supplier<NcclUniqueId> makeId, Duration timeout) {
        if (process < 0) throw new IllegalArgumentException("the process index must be >= 0, got " + process);
        try {
            return process == 0 ? publish(file, makeId.get()) : await(file, process, timeout);
        } catch (IOException e) {
            throw new UncheckedIOException("rendezvous through " + file + " (process " + process + "): " + e.getMessage(), e);
        }
    }

    private static NcclUniqueId publish(Path file, NcclUniqueId id) throws IOException {
        if (Files.exists(file)) {
            throw new FileAlreadyExistsException(file.toString(), null, "it holds the id of an earlier run: remove it, "
                    + "or give this run a new rendezvous path");
        }
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName() + ".", ".tmp");
        try {
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // a filesystem without POSIX permissions keeps its defaults
            }
            Files.writeString(tmp, id.hex() + "\n", StandardCharsets.US_ASCII);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return id;
    }

    private static NcclUniqueId await(Path file, int process, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(file)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("waited " + timeout.toSeconds() + " s for process 0 to write the NCCL id; is "
                        + "process 0 running, and does this machine see the same file?");
            }
            try {
                Thread.sleep(POLL);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for process 0's NCCL id", e);
            }
        }
        String hex = Files.readString(file, StandardCharsets.US_ASCII).strip();
        try {
            return NcclUniqueId.fromHex(hex);
        } catch (IllegalArgumentException e) {
            throw new IOException("the file does not hold an NCCL id (" + e.getMessage() + ")", e);
        }
    }
}
