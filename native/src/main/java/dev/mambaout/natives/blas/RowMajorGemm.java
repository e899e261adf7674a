package dev.mambaout.natives.blas;

/**
 * A matrix product in the engine's terms: every matrix is dense and row-major, D[M,N] = op(A)[M,K] op(B)[K,N], where
 * A is stored as [M,K] (or [K,M] when {@code transA}) and B as [K,N] (or [N,K] when {@code transB}). A linear layer
 * y = x W^T + b with activations x[tokens, in] and PyTorch-style weights W[out, in] is
 * {@code new RowMajorGemm(tokens, out, in, false, true)}.
 *
 * <p>cuBLAS is column-major. A row-major [r,c] buffer read column-major is the [c,r] matrix, its transpose, so the
 * engine asks cuBLAS for D^T = op(B)^T op(A)^T, which lands in memory as row-major D with no copies. See
 * {@link #columnMajor()}: cuBLAS's first operand is the engine's B, its second the engine's A.
 */
public record RowMajorGemm(int m, int n, int k, boolean transA, boolean transB) {

    public RowMajorGemm {
        if (m <= 0 || n <= 0 || k <= 0) {
            throw new IllegalArgumentException("GEMM sizes must be positive, got M=" + m + " N=" + n + " K=" + k);
        }
    }

    /** The linear-layer product y[tokens,out] = x[tokens,in] W[out,in]^T. */
    public static RowMajorGemm linear(int tokens, int in, int out) {
        return new RowMajorGemm(tokens, out, in, false, true);
    }

    /** Elements in one stored row of A: its leading dimension. */
    public int lda() { return transA ? m : k; }

    /** Elements in one stored row of B: its leading dimension. */
    public int ldb() { return transB ? k : n; }

    /** Elements in one row of D (and C). */
    public int ldd() { return n; }

    public long aElements() { return (long) m * k; }

    public long bElements() { return (long) k * n; }

    public long dElements() { return (long) m * n; }

    /**
     * The same product as cuBLAS sees it: m' = N, n' = M, k' = K; cuBLAS's A is the engine's B (transposed iff
     * {@code transB}, leading dimension {@link #ldb()}), cuBLAS's B is the engine's A (transposed iff {@code transA},
     * leading dimension {@link #lda()}), and C/D have leading dimension N.
     */
    public ColumnMajorGemm columnMajor() {
        return new ColumnMajorGemm(transB, transA, n, m, k, ldb(), lda(), n);
    }
}
