package dev.mambaout.natives.nccl;

/**
 * {@code ncclResult_t} from nccl.h. NCCL has no function that names a status (ncclGetErrorString describes it), so
 * the C names live here for the exception messages.
 */
public enum NcclResult {
    SUCCESS(0, "ncclSuccess"),
    UNHANDLED_CUDA_ERROR(1, "ncclUnhandledCudaError"),
    SYSTEM_ERROR(2, "ncclSystemError"),
    INTERNAL_ERROR(3, "ncclInternalError"),
    INVALID_ARGUMENT(4, "ncclInvalidArgument"),
    INVALID_USAGE(5, "ncclInvalidUsage"),
    REMOTE_ERROR(6, "ncclRemoteError"),
    IN_PROGRESS(7, "ncclInProgress"),
    /** Only in recent headers (2.29's nccl.h.in); older libraries never return it. */
    TIMEOUT(8, "ncclTimeout");

    private static final NcclResult[] BY_VALUE = values();

    private final int value;
    private final String cName;

    NcclResult(int value, String cName) {
        this.value = value;
        this.cName = cName;
    }

    public int value() { return value; }

    /** The enumerator's name in nccl.h, e.g. {@code ncclInvalidUsage}. */
    public String cName() { return cName; }

    /** The result for a status, or {@code null} for a number this enum does not know (a newer library). */
    public static NcclResult of(int status) {
        return status >= 0 && status < BY_VALUE.length ? BY_VALUE[status] : null;
    }

    /** The C name of a status, or {@code ncclResult_t <n>} for an unknown one: a message must never fail. */
    public static String nameOf(int status) {
        NcclResult r = of(status);
        return r == null ? "ncclResult_t " + status : r.cName;
    }
}
