package dev.mambaout.natives.blas;

import dev.mambaout.natives.NativeLibraries;
import dev.mambaout.natives.panama.Downcalls;
import java.util.List;

/**
 * A cuBLASLt handle ({@code cublasLtCreate}); plans matrix products with {@link #plan(LtMatmulSpec)} (the heuristics'
 * first choice, no GPU work) or {@link #plan(LtMatmulSpec, LtAutotune)} (the fastest of the top candidates, timed). The handle is
 * not tied to a stream: each {@link LtMatmul#run} names its own.
 */
public final class CublasLt implements AutoCloseable {

    static final String LIBRARY = "cublasLt";
    static final List<String> SONAMES = List.of("libcublasLt.so.13", "libcublasLt.so.12");

    /** {@code NativeLibraries.load} of this library (cached once loaded); kept out of the class that binds the
     * symbols so that a missing library is a {@link dev.mambaout.natives.CudaUnavailableException} every time,
     * never a class-initialisation error.
     */
    static NativeLibraries.Loaded require() {
        return NativeLibraries.load(LIBRARY, SONAMES);
    }

    private final long handle;
    private boolean closed;

    private CublasLt(long handle) { this.handle = handle; }

    /**
     * @throws dev.mambaout.natives.CudaUnavailableException when libcublasLt is missing (naming every path tried)
     */
    public static CublasLt open() {
        require();
        return new CublasLt(Downcalls.createHandle("cublasLtCreate", CublasLtNative.CREATE, CublasLtNative::check));
    }

    /** {@code cublasLtGetVersion}, e.g. 130100; needs no handle or GPU. */
    public static long version() {
        require();
        try {
            return (long) CublasLtNative.GET_VERSION.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("cublasLtGetVersion downcall failed", t);
        }
    }

    /** Where libcublasLt was loaded from. */
    public static String libraryPath() { return require().path(); }

    /** Builds the descriptors and asks the heuristics for an algorithm, once; the plan then runs many times. */
    public LtMatmul plan(LtMatmulSpec spec) {
        if (closed) throw new IllegalStateException("this cuBLASLt handle is closed");
        return new LtMatmul(handle, spec, null);
    }

    /**
     * Like {@link #plan(LtMatmulSpec)}, but times the heuristics' top candidates on the given operands and keeps the
     * fastest ({@link LtAutotune} says how; {@link LtMatmul#tuning()} has the times). This runs products on the GPU
     * and synchronizes the stream; the plan's {@link LtMatmul#workspaceBytes()} is the chosen candidate's.
     */
    public LtMatmul plan(LtMatmulSpec spec, LtAutotune tune) {
        if (closed) throw new IllegalStateException("this cuBLASLt handle is closed");
        if (tune == null) throw new IllegalArgumentException("tune is null; use plan(spec) for the heuristics' choice");
        return new LtMatmul(handle, spec, tune);
    }

    public long handle() { return handle; }

    /** {@code cublasLtDestroy}; plans made from this handle must be closed first. A second close does nothing. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Downcalls.destroyHandle("cublasLtDestroy", CublasLtNative.DESTROY, handle, CublasLtNative::check);
    }
}
