package dev.mambaout.runtime.dist;

import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.natives.nccl.NcclRedOp;

/**
 * One rank's view of the ranks that train together: the collectives data-parallel training issues, on device
 * pointers and streams as {@code long}s (the engine's currency below tensors). Collectives are asynchronous: each
 * returns once its work is queued on {@code stream}; order them against the compute stream with events. Every rank
 * must issue the same collectives in the same order with the same counts, or the group hangs.
 *
 * <p>{@link NcclCommunicator} is the real one; the tests have an in-process stand-in that sums host buffers.
 */
public interface Communicator extends AutoCloseable {

    /** This rank, in {@code [0, size())}. */
    int rank();

    /** How many ranks take part. */
    int size();

    /** Reduces {@code count} elements over all ranks into every rank's {@code recv}; {@code send == recv} is in place. */
    void allReduce(long send, long recv, long count, NcclDataType type, NcclRedOp op, long stream);

    /** Copies {@code count} elements at {@code buffer} on rank {@code root} into {@code buffer} on every rank. */
    void broadcast(long buffer, long count, NcclDataType type, int root, long stream);

    /**
     * Runs {@code issue} as one group of collectives, issued together when it returns. One thread that drives
     * several ranks must group their calls (each rank's call would otherwise wait for the others'), and a group of
     * several buckets lets NCCL aggregate them. As with NCCL, a group belongs to the calling thread, not to this
     * communicator: it covers every collective issued inside {@code issue}, on any communicator.
     */
    void group(Runnable issue);

    /**
     * Throws if a collective failed after it was queued (a peer died, a link failed), first aborting this
     * communicator so no rank waits forever on it; returns quietly otherwise. Poll it between steps.
     */
    void checkAsync();

    /** Frees this rank's resources once its queued work is done. A second close does nothing. */
    @Override
    void close();
}
