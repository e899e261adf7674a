package dev.mambaout.natives.blas;

/**
 * Row-major GEMMs through cuBLAS, whichever binding provides it: {@link PanamaGemm} (java.lang.foreign, any cuBLAS
 * 12 or 13) or {@link JCublasGemm} (org.jcuda:jcublas 12.6.0, only where libcublas.so.12 loads). {@link Gemms#open}
 * picks one for the driver backend in use. One thread at a time per instance, like the cuBLAS handle behind it.
 */
public sealed interface Gemm extends AutoCloseable permits PanamaGemm, JCublasGemm {

    /** Which binding and library serve the calls, e.g. {@code Panama cuBLAS 130100 (libcublas.so.13)}. */
    String implementation();

    /** Queues later GEMMs on this driver stream (0 = the legacy default stream). */
    void setStream(long stream);

    /** Lets float GEMMs with {@link ComputeType#F32} use TF32 tensor cores, or forbids it. */
    void setMathMode(MathMode mode);

    /**
     * D = alpha op(A) op(B) + beta D in the row-major terms of {@link RowMajorGemm}; A and B are {@code abType}, D is
     * {@code dType}.
     */
    void gemm(RowMajorGemm shape, CudaDataType abType, CudaDataType dType, ComputeType compute,
              float alpha, long a, long b, float beta, long d);

    @Override
    void close();
}
