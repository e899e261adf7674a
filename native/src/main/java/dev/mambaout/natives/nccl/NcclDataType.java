package dev.mambaout.natives.nccl;

/**
 * {@code ncclDataType_t} values from nccl.h (ncclInt8 = 0 ... ncclBfloat16 = 9; the aliases ncclChar, ncclInt,
 * ncclHalf, ncclFloat, ncclDouble share these numbers). A wrong number here is a silent wrong sum on the GPU, so
 * {@code NcclCpuTest} pins each one.
 */
public enum NcclDataType {
    INT8(0, 1),
    UINT8(1, 1),
    INT32(2, 4),
    UINT32(3, 4),
    INT64(4, 8),
    UINT64(5, 8),
    FLOAT16(6, 2),
    FLOAT32(7, 4),
    FLOAT64(8, 8),
    BFLOAT16(9, 2);

    private final int value;
    private final int bytes;

    NcclDataType(int value, int bytes) {
        this.value = value;
        this.bytes = bytes;
    }

    /** The {@code ncclDataType_t} number. */
    public int value() { return value; }

    /** Bytes per element: NCCL's counts are elements, the engine's buffers are sized in bytes. */
    public int bytes() { return bytes; }
}
