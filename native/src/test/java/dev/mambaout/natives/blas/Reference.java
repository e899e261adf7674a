package dev.mambaout.natives.blas;

/** Plain CPU loops in double: the references the GEMM tests compare against. */
final class Reference {

    private Reference() {}

    /** Row-major D[M,N] = op(A) op(B) with A stored [M,K] ([K,M] if transA), B [K,N] ([N,K] if transB). */
    static double[] gemm(RowMajorGemm g, float[] a, float[] b) {
        int m = g.m(), n = g.n(), k = g.k();
        double[] d = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int l = 0; l < k; l++) {
                    double av = g.transA() ? a[l * m + i] : a[i * k + l];
                    double bv = g.transB() ? b[j * k + l] : b[l * n + j];
                    s += av * bv;
                }
                d[i * n + j] = s;
            }
        }
        return d;
    }

    /** Column-major cuBLAS semantics: C[i + j ldc] = sum_l op(A)[i,l] op(B)[l,j]. */
    static double[] columnMajorGemm(ColumnMajorGemm g, float[] a, float[] b) {
        double[] c = new double[g.ldc() * g.n()];
        for (int i = 0; i < g.m(); i++) {
            for (int j = 0; j < g.n(); j++) {
                double s = 0;
                for (int l = 0; l < g.k(); l++) {
                    double av = g.transA() ? a[l + i * g.lda()] : a[i + l * g.lda()];
                    double bv = g.transB() ? b[j + l * g.ldb()] : b[l + j * g.ldb()];
                    s += av * bv;
                }
                c[i + j * g.ldc()] = s;
            }
        }
        return c;
    }

    /** The tanh form of GELU that cuBLASLt's epilogue computes. */
    static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
