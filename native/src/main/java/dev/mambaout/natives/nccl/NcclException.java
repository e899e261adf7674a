package dev.mambaout.natives.nccl;

import dev.mambaout.natives.CudaException;

/**
 * An NCCL call that returned an error, or a communicator's asynchronous error: the call, the status number, its
 * name from nccl.h, and NCCL's own words (ncclGetErrorString, then ncclGetLastError's message for this thread).
 * A {@link CudaException}, so the engine's handlers for failed CUDA-family calls catch it too.
 */
public final class NcclException extends CudaException {

    public NcclException(String call, int status, String text) {
        super(call, status, NcclResult.nameOf(status), text);
    }

    /** The status as an enum, or {@code null} for a number newer than {@link NcclResult} knows. */
    public NcclResult result() { return NcclResult.of(status()); }
}
