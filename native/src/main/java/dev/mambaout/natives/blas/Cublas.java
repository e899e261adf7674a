package dev.mambaout.natives.blas;

import dev.mambaout.natives.NativeLibraries;
import dev.mambaout.natives.panama.Downcalls;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A cuBLAS handle through Panama: create/destroy, stream, math mode and {@code cublasGemmEx}. The handle works in the
 * CUDA context current on the thread that opens it. Like the cuBLAS handle itself it is for one thread at a time:
 * alpha and beta live in two host floats owned by the handle, rewritten per call so a GEMM allocates nothing.
 */
public final class Cublas implements AutoCloseable {

    static final String LIBRARY = "cublas";
    static final List<String> SONAMES = List.of("libcublas.so.13", "libcublas.so.12");

    /** {@code NativeLibraries.load} of this library (cached once loaded); kept out of the class that binds the
     * symbols so that a missing library is a {@link dev.mambaout.natives.CudaUnavailableException} every time,
     * never a class-initialisation error.
     */
    static NativeLibraries.Loaded require() {
        return NativeLibraries.load(LIBRARY, SONAMES);
    }

    private final Arena arena = Arena.ofShared();
    private final long handle;
    private final MemorySegment alpha;
    private final MemorySegment beta;
    private boolean closed;

    private Cublas(long handle) {
        this.handle = handle;
        this.alpha = arena.allocate(JAVA_FLOAT);
        this.beta = arena.allocate(JAVA_FLOAT);
    }

    /**
     * Creates a handle ({@code cublasCreate_v2}) in the current context.
     *
     * @throws dev.mambaout.natives.CudaUnavailableException when libcublas is missing (naming every path tried)
     * @throws dev.mambaout.natives.CudaException            when cuBLAS refuses (e.g. no current context)
     */
    public static Cublas open() {
        require();
        return new Cublas(Downcalls.createHandle("cublasCreate_v2", CublasNative.CREATE, CublasNative::check));
    }

    /** Where libcublas was loaded from. */
    public static String libraryPath() { return require().path(); }

    /** {@code cublasGetVersion_v2}, e.g. 130100 for cuBLAS 13.1.0. */
    public int version() {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            CublasNative.check("cublasGetVersion_v2", (int) CublasNative.GET_VERSION.invokeExact(handle, out));
            return out.get(JAVA_INT, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cublasGetVersion_v2 downcall failed", t);
        }
    }

    /** The raw {@code cublasHandle_t}. */
    public long handle() { return handle; }

    /** {@code cublasSetStream_v2}: later calls are queued on {@code stream} (0 = the legacy default stream). */
    public void setStream(long stream) {
        ensureOpen();
        int st;
        try {
            st = (int) CublasNative.SET_STREAM.invokeExact(handle, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cublasSetStream_v2 downcall failed", t);
        }
        CublasNative.check("cublasSetStream_v2", st);
    }

    /** {@code cublasSetMathMode}, e.g. {@link MathMode#TF32_TENSOR_OP}. */
    public void setMathMode(MathMode mode) {
        ensureOpen();
        int st;
        try {
            st = (int) CublasNative.SET_MATH_MODE.invokeExact(handle, mode.value());
        } catch (Throwable t) {
            throw new IllegalStateException("cublasSetMathMode downcall failed", t);
        }
        CublasNative.check("cublasSetMathMode", st);
    }

    /**
     * {@code cublasGemmEx} exactly as cuBLAS takes it (column-major). Alpha and beta are float: every compute type
     * in {@link ComputeType} scales in float.
     */
    public void gemmEx(ColumnMajorGemm g, CudaDataType aType, CudaDataType bType, CudaDataType cType,
                       ComputeType compute, float alphaValue, long a, long b, float betaValue, long c) {
        ensureOpen();
        if (a == 0 || b == 0 || c == 0) {
            throw new IllegalArgumentException("cublasGemmEx needs device pointers, got A=0x" + Long.toHexString(a)
                    + " B=0x" + Long.toHexString(b) + " C=0x" + Long.toHexString(c));
        }
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        int st;
        try {
            st = (int) CublasNative.GEMM_EX.invokeExact(handle, ColumnMajorGemm.op(g.transA()),
                    ColumnMajorGemm.op(g.transB()), g.m(), g.n(), g.k(),
                    alpha, a, aType.value(), g.lda(),
                    b, bType.value(), g.ldb(),
                    beta, c, cType.value(), g.ldc(),
                    compute.value(), ColumnMajorGemm.DEFAULT_ALGO);
        } catch (Throwable t) {
            throw new IllegalStateException("cublasGemmEx downcall failed", t);
        }
        CublasNative.check("cublasGemmEx", st);
    }

    /**
     * The row-major product of {@link RowMajorGemm}: D = alpha op(A) op(B) + beta D, with A and B of type
     * {@code abType} and D of type {@code dType}. The operands are swapped for cuBLAS as that record explains.
     */
    public void gemm(RowMajorGemm g, CudaDataType abType, CudaDataType dType, ComputeType compute,
                     float alphaValue, long a, long b, float betaValue, long d) {
        gemmEx(g.columnMajor(), abType, abType, dType, compute, alphaValue, b, a, betaValue, d);
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this cuBLAS handle is closed");
    }

    /** {@code cublasDestroy_v2}; a second close does nothing. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            Downcalls.destroyHandle("cublasDestroy_v2", CublasNative.DESTROY, handle, CublasNative::check);
        } finally {
            arena.close();
        }
    }
}
