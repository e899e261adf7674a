package dev.mambaout.natives.blas;

/**
 * The element types the engine hands to cuBLAS and cuBLASLt, with their {@code cudaDataType_t} values from
 * {@code library_types.h} (CUDA 13.0: CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14).
 */
public enum CudaDataType {
    F32(0, 4),
    F16(2, 2),
    BF16(14, 2);

    private final int value;
    private final int bytes;

    CudaDataType(int value, int bytes) {
        this.value = value;
        this.bytes = bytes;
    }

    /** The {@code cudaDataType_t} value. */
    public int value() { return value; }

    public int bytes() { return bytes; }
}
