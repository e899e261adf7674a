package dev.mambaout.natives.blas;

/**
 * A product exactly as cuBLAS takes it: column-major, D[m,n] = op(A)[m,k] op(B)[k,n] with leading dimensions in
 * elements. Usually made by {@link RowMajorGemm#columnMajor()}.
 */
public record ColumnMajorGemm(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc) {

    /** CUBLAS_GEMM_DEFAULT ({@code cublasGemmAlgo_t} -1): cuBLAS picks, tensor cores where types and math mode allow. */
    public static final int DEFAULT_ALGO = -1;

    /** {@code cublasOperation_t}: CUBLAS_OP_N = 0, CUBLAS_OP_T = 1. */
    public static int op(boolean transpose) { return transpose ? 1 : 0; }

    public ColumnMajorGemm {
        if (m <= 0 || n <= 0 || k <= 0) {
            throw new IllegalArgumentException("GEMM sizes must be positive, got m=" + m + " n=" + n + " k=" + k);
        }
        if (lda < (transA ? k : m)) {
            throw new IllegalArgumentException("lda=" + lda + " is smaller than A's stored rows " + (transA ? k : m));
        }
        if (ldb < (transB ? n : k)) {
            throw new IllegalArgumentException("ldb=" + ldb + " is smaller than B's stored rows " + (transB ? n : k));
        }
        if (ldc < m) throw new IllegalArgumentException("ldc=" + ldc + " is smaller than m=" + m);
    }

    /** Rows of A as stored (before op). */
    public int aRows() { return transA ? k : m; }

    public int aCols() { return transA ? m : k; }

    public int bRows() { return transB ? n : k; }

    public int bCols() { return transB ? k : n; }
}
