package dev.mambaout.natives.blas;

import dev.mambaout.natives.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

import java.util.function.LongFunction;

/**
 * {@link Gemm} over org.jcuda:jcublas 12.6.0 ({@code JCublas2}), for the JCuda driver backend. Its native library
 * links against libcublas.so.12, so it loads only where CUDA 12's cuBLAS is installed; {@link Gemms} falls back to
 * {@link PanamaGemm} elsewhere (e.g. CUDA 13 machines).
 *
 * <p>JCuda wants {@code Pointer} objects, the engine has addresses: each operand slot keeps the Pointer of the last
 * address it saw, so the steady state (the same planned buffers every step) allocates nothing.
 */
public final class JCublasGemm implements Gemm {

    /** A JCuda Pointer carrying a raw device address (JCuda reads nativePointer + byteOffset). */
    private static final class Address extends Pointer {
        final long value;

        Address(long value) {
            super(value);
            this.value = value;
        }
    }

    private final cublasHandle handle;
    private final LongFunction<CUstream> streams;
    private final float[] alpha = new float[1];
    private final float[] beta = new float[1];
    private final Pointer alphaPtr = Pointer.to(alpha);
    private final Pointer betaPtr = Pointer.to(beta);
    private final Address[] slots = new Address[3];
    private final String implementation;
    private boolean closed;

    private JCublasGemm(cublasHandle handle, LongFunction<CUstream> streams, int version) {
        this.handle = handle;
        this.streams = streams;
        this.implementation = "JCublas 12.6.0, cuBLAS " + version;
    }

    /**
     * Creates a handle in the current context.
     *
     * @param streams maps the engine's stream values to the JCuda driver backend's CUstream objects
     * @throws LinkageError (UnsatisfiedLinkError or NoClassDefFoundError) when JCublas's native library or
     *                      libcublas.so.12 does not load
     */
    public static JCublasGemm open(LongFunction<CUstream> streams) {
        JCublas2.setExceptionsEnabled(false);
        cublasHandle h = new cublasHandle();
        check("cublasCreate", JCublas2.cublasCreate(h));
        int[] version = new int[1];
        check("cublasGetVersion", JCublas2.cublasGetVersion(h, version));
        return new JCublasGemm(h, streams, version[0]);
    }

    private static void check(String call, int status) {
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new CudaException(call + " (JCublas)", status, cublasStatus.stringFor(status), null);
        }
    }

    @Override
    public String implementation() { return implementation; }

    @Override
    public void setStream(long stream) {
        ensureOpen();
        check("cublasSetStream", JCublas2.cublasSetStream(handle, new cudaStream_t(streams.apply(stream))));
    }

    @Override
    public void setMathMode(MathMode mode) {
        ensureOpen();
        check("cublasSetMathMode", JCublas2.cublasSetMathMode(handle, mode.value()));
    }

    @Override
    public void gemm(RowMajorGemm shape, CudaDataType abType, CudaDataType dType, ComputeType compute,
                     float alphaValue, long a, long b, float betaValue, long d) {
        ensureOpen();
        if (a == 0 || b == 0 || d == 0) {
            throw new IllegalArgumentException("cublasGemmEx needs device pointers, got A=0x" + Long.toHexString(a)
                    + " B=0x" + Long.toHexString(b) + " D=0x" + Long.toHexString(d));
        }
        ColumnMajorGemm g = shape.columnMajor();
        alpha[0] = alphaValue;
        beta[0] = betaValue;
        // cuBLAS's A is the engine's B and its B the engine's A (see RowMajorGemm).
        check("cublasGemmEx", JCublas2.cublasGemmEx(handle, ColumnMajorGemm.op(g.transA()),
                ColumnMajorGemm.op(g.transB()), g.m(), g.n(), g.k(),
                alphaPtr, slot(0, b), abType.value(), g.lda(),
                slot(1, a), abType.value(), g.ldb(),
                betaPtr, slot(2, d), dType.value(), g.ldc(),
                compute.value(), ColumnMajorGemm.DEFAULT_ALGO));
    }

    private Pointer slot(int i, long address) {
        Address p = slots[i];
        if (p == null || p.value != address) {
            p = new Address(address);
            slots[i] = p;
        }
        return p;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this JCublas handle is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        check("cublasDestroy", JCublas2.cublasDestroy(handle));
    }
}
