package dev.mambaout.natives.blas;

/**
 * {@code cublasComputeType_t} values used by the engine (cublas_api.h: CUBLAS_COMPUTE_32F = 68,
 * CUBLAS_COMPUTE_32F_FAST_TF32 = 77). Both accumulate in float and take float alpha/beta.
 */
public enum ComputeType {
    /** Full float arithmetic (for bf16/f16 inputs: products exact in float, float accumulation). */
    F32(68),
    /** Float inputs rounded to TF32 on the tensor cores, float accumulation: about 1e-3 relative error. */
    F32_FAST_TF32(77);

    private final int value;

    ComputeType(int value) { this.value = value; }

    public int value() { return value; }
}
