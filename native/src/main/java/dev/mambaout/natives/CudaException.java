package dev.mambaout.natives;

/**
 * A CUDA-family call that returned an error status. Names the call, the numeric status and the library's own name
 * and text for it (cuGetErrorName/cuGetErrorString, cublasGetStatusName, nvrtcGetErrorString, cudnnGetErrorString).
 */
public class CudaException extends RuntimeException {
    private final String call;
    private final int status;
    private final String statusName;

    public CudaException(String call, int status, String statusName, String text) {
        super(call + " failed: " + statusName + " (" + status + ")" + (text == null || text.isEmpty() ? "" : ": " + text));
        this.call = call;
        this.status = status;
        this.statusName = statusName;
    }

    /** The API function that failed, e.g. {@code cuMemAlloc_v2}. */
    public String call() { return call; }

    /** The raw status code it returned. */
    public int status() { return status; }

    /** The library's symbolic name for the status, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String statusName() { return statusName; }
}
