package dev.mambaout.natives.blas;

/** {@code cublasMath_t} for {@code cublasSetMathMode} (cublas_api.h: CUBLAS_DEFAULT_MATH = 0, TF32_TENSOR_OP = 3). */
public enum MathMode {
    DEFAULT(0),
    /** Lets float GEMMs with CUBLAS_COMPUTE_32F use TF32 tensor cores. */
    TF32_TENSOR_OP(3);

    private final int value;

    MathMode(int value) { this.value = value; }

    public int value() { return value; }
}
