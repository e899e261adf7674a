package dev.mambaout.natives;

/**
 * No usable CUDA library or device: the message lists every place that was tried and what each one said, so a user
 * can see at once whether the driver, a library or the GPU itself is missing.
 */
public class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) { super(message); }

    public CudaUnavailableException(String message, Throwable cause) { super(message, cause); }
}
