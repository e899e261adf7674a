package dev.mambaout.runtime.dist;

import dev.mambaout.natives.nccl.Nccl;
import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.natives.nccl.NcclException;
import dev.mambaout.natives.nccl.NcclRedOp;
import dev.mambaout.natives.nccl.NcclResult;
import dev.mambaout.natives.nccl.NcclUniqueId;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Communicator} over one NCCL communicator ({@code ncclComm_t}), which it owns: closing destroys it, and an
 * asynchronous error aborts it.
 *
 * <p>Two ways to make them: {@link #initAll} for one process driving several GPUs (one rank per device, rank i on
 * {@code devices[i]}), and {@link #initRank} for one rank per process, all processes holding the same
 * {@link NcclUniqueId} that rank 0 made with {@link Nccl#uniqueId()} and passed around.
 *
 * <p>Every process that makes one must run with {@code NCCL_NVLS_ENABLE=0} in its environment: NVLink SHARP
 * (multicast objects) stays off on the machines this project uses. Nothing here sets it, because NCCL reads its
 * environment on first use and a library that rewrites its host's environment surprises everyone else in it.
 */
public final class NcclCommunicator implements Communicator {

    private final long comm;
    private final int rank;
    private final int size;
    private final int device;
    private boolean closed;

    private NcclCommunicator(long comm, int rank, int size, int device) {
        this.comm = comm;
        this.rank = rank;
        this.size = size;
        this.device = device;
    }

    /**
     * One communicator per device in this process ({@code ncclCommInitAll}); element i is rank i, on
     * {@code devices[i]}. NCCL switches the calling thread's current device while it works: make the caller's
     * context current again afterwards ({@code Device.makeCurrent()}).
     */
    public static List<NcclCommunicator> initAll(int... devices) {
        long[] comms = Nccl.commInitAll(devices);
        List<NcclCommunicator> out = new ArrayList<>(comms.length);
        try {
            for (long c : comms) out.add(wrap(c));
        } catch (RuntimeException e) {
            for (int i = out.size(); i < comms.length; i++) abortQuietly(comms[i], e);
            for (NcclCommunicator c : out) c.abortQuietly(e);
            throw e;
        }
        return List.copyOf(out);
    }

    /**
     * This process's rank of {@code size} ({@code ncclCommInitRank}) on the device whose context is current. Blocks
     * until all {@code size} ranks have joined with the same {@code id}.
     */
    public static NcclCommunicator initRank(int size, NcclUniqueId id, int rank) {
        long c = Nccl.commInitRank(size, id, rank);
        try {
            return wrap(c);
        } catch (RuntimeException e) {
            abortQuietly(c, e);
            throw e;
        }
    }

    private static NcclCommunicator wrap(long comm) {
        return new NcclCommunicator(comm, Nccl.commUserRank(comm), Nccl.commCount(comm), Nccl.commCuDevice(comm));
    }

    @Override
    public int rank() { return rank; }

    @Override
    public int size() { return size; }

    /** The CUDA device ordinal this rank lives on; its streams must belong to that device. */
    public int device() { return device; }

    /** The raw {@code ncclComm_t}; throws once closed, so a freed handle never reaches NCCL. */
    public long handle() {
        if (closed) throw new IllegalStateException("NCCL communicator (rank " + rank + " of " + size + ") is closed");
        return comm;
    }

    @Override
    public void allReduce(long send, long recv, long count, NcclDataType type, NcclRedOp op, long stream) {
        Nccl.allReduce(send, recv, count, type, op, handle(), stream);
    }

    @Override
    public void broadcast(long buffer, long count, NcclDataType type, int root, long stream) {
        Nccl.broadcast(buffer, buffer, count, type, root, handle(), stream);
    }

    @Override
    public void group(Runnable issue) {
        Nccl.groupStart();
        try {
            issue.run();
        } catch (RuntimeException | Error e) {
            // The group must be closed either way, or every later NCCL call on this thread stays deferred.
            try {
                Nccl.groupEnd();
            } catch (RuntimeException second) {
                e.addSuppressed(second);
            }
            throw e;
        }
        Nccl.groupEnd();
    }

    @Override
    public void checkAsync() {
        int status = Nccl.commGetAsyncError(handle());
        // ncclInProgress is a non-blocking communicator still settling, not a failure.
        if (status == NcclResult.SUCCESS.value() || status == NcclResult.IN_PROGRESS.value()) return;
        NcclException e = new NcclException("ncclCommGetAsyncError", status, Nccl.describe(status) + " (rank " + rank
                + " of " + size + " on device " + device + "; the communicator was aborted)");
        abortQuietly(e);
        throw e;
    }

    /** ncclCommDestroy: waits for this rank's queued collectives. Nothing to do after an abort. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Nccl.commDestroy(comm);
    }

    private void abortQuietly(RuntimeException cause) {
        if (closed) return;
        closed = true;
        abortQuietly(comm, cause);
    }

    private static void abortQuietly(long comm, RuntimeException cause) {
        try {
            Nccl.commAbort(comm);
        } catch (RuntimeException second) {
            cause.addSuppressed(second);
        }
    }
}
