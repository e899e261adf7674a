package dev.mambaout.natives.blas;

/**
 * {@code cublasLtEpilogue_t} values (cublasLt.h: DEFAULT = 1, BIAS = 4, GELU = 32, GELU_BIAS = GELU|BIAS = 36,
 * BGRADB = 512), described in the row-major terms of {@link RowMajorGemm} (D[M,N] = op(A)[M,K] op(B)[K,N]).
 *
 * <p>cuBLASLt's GELU is the tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), not the erf form.
 */
public enum Epilogue {
    /** D = alpha op(A) op(B) + beta C. */
    NONE(1),
    /** Adds bias[N] to every row of D: one bias per output feature, broadcast over the M rows (tokens). */
    BIAS(4),
    /** Applies GELU (tanh form) to every element. */
    GELU(32),
    /** Adds bias[N] per column, then GELU (tanh form). */
    GELU_BIAS(36),
    /**
     * Also writes bias[M] = the row sums of op(A), i.e. the sum over the K dimension. In the weight-gradient GEMM
     * dW[out,in] = dY^T[out,tokens] X[tokens,in] (op(A) = dY^T) that is exactly the bias gradient db[out] = sum over
     * tokens of dY. cuBLASLt calls this "bias gradient of B" because the row-major A is its column-major B.
     */
    BGRADB(512);

    private final int value;

    Epilogue(int value) { this.value = value; }

    /** The {@code cublasLtEpilogue_t} value. */
    public int value() { return value; }

    /** Whether the epilogue reads a bias vector. */
    public boolean readsBias() { return this == BIAS || this == GELU_BIAS; }

    /** Whether the epilogue writes a bias-gradient vector through the bias pointer. */
    public boolean writesBias() { return this == BGRADB; }

    /** Length of the vector behind the bias pointer for this shape, or 0 when the epilogue uses none. */
    public int biasLength(RowMajorGemm shape) {
        if (readsBias()) return shape.n();
        if (writesBias()) return shape.m();
        return 0;
    }
}
