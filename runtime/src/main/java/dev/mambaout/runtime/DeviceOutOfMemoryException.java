package dev.mambaout.runtime;

import dev.mambaout.natives.CudaException;

/** cuMemAlloc refused: the message gives the bytes asked and the device's free/total memory at that moment. */
public final class DeviceOutOfMemoryException extends RuntimeException {
    private final long requested;

    public DeviceOutOfMemoryException(String message, long requested, CudaException cause) {
        super(message, cause);
        this.requested = requested;
    }

    public long requested() { return requested; }
}
