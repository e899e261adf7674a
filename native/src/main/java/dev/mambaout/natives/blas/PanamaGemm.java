package dev.mambaout.natives.blas;

/** {@link Gemm} over the Panama cuBLAS binding ({@link Cublas}). */
public final class PanamaGemm implements Gemm {

    private final Cublas cublas;
    private final String implementation;

    private PanamaGemm(Cublas cublas) {
        this.cublas = cublas;
        this.implementation = "Panama cuBLAS " + cublas.version() + " (" + Cublas.libraryPath() + ")";
    }

    /** Opens a cuBLAS handle in the current context. */
    public static PanamaGemm open() {
        Cublas c = Cublas.open();
        try {
            return new PanamaGemm(c);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The handle underneath, for calls this interface does not cover. */
    public Cublas cublas() { return cublas; }

    @Override
    public String implementation() { return implementation; }

    @Override
    public void setStream(long stream) { cublas.setStream(stream); }

    @Override
    public void setMathMode(MathMode mode) { cublas.setMathMode(mode); }

    @Override
    public void gemm(RowMajorGemm shape, CudaDataType abType, CudaDataType dType, ComputeType compute,
                     float alpha, long a, long b, float beta, long d) {
        cublas.gemm(shape, abType, dType, compute, alpha, a, b, beta, d);
    }

    @Override
    public void close() { cublas.close(); }
}
