package dev.mambaout.natives.cudnn;

import dev.mambaout.natives.NativeLibraries;
import dev.mambaout.natives.panama.Downcalls;
import java.util.List;

/**
 * A cuDNN handle through Panama ({@code cudnnCreate} in the current CUDA context), for the comparisons with the
 * engine's own convolution kernels and as a fallback path. Plans convolutions with {@link #plan(ConvSpec)}.
 */
public final class Cudnn implements AutoCloseable {

    static final String LIBRARY = "cudnn";
    static final List<String> SONAMES = List.of("libcudnn.so.9");

    /** {@code NativeLibraries.load} of this library (cached once loaded); kept out of the class that binds the
     * symbols so that a missing library is a {@link dev.mambaout.natives.CudaUnavailableException} every time,
     * never a class-initialisation error.
     */
    static NativeLibraries.Loaded require() {
        return NativeLibraries.load(LIBRARY, SONAMES);
    }

    private final long handle;
    private boolean closed;

    private Cudnn(long handle) { this.handle = handle; }

    /**
     * @throws dev.mambaout.natives.CudaUnavailableException when libcudnn.so.9 is missing (naming every path tried)
     */
    public static Cudnn open() {
        require();
        return new Cudnn(Downcalls.createHandle("cudnnCreate", CudnnNative.CREATE, CudnnNative::check));
    }

    /** {@code cudnnGetVersion}, e.g. 91400 for 9.14.0; needs no GPU. */
    public static long version() {
        require();
        try {
            return (long) CudnnNative.GET_VERSION.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("cudnnGetVersion downcall failed", t);
        }
    }

    /** Where libcudnn was loaded from. */
    public static String libraryPath() { return require().path(); }

    /** {@code cudnnSetStream}: later calls on this handle are queued on {@code stream}. */
    public void setStream(long stream) {
        ensureOpen();
        int st;
        try {
            st = (int) CudnnNative.SET_STREAM.invokeExact(handle, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cudnnSetStream downcall failed", t);
        }
        CudnnNative.check("cudnnSetStream", st);
    }

    /** Builds the descriptors and picks the forward, backward-data and backward-filter algorithms, once. */
    public ConvPlan plan(ConvSpec spec) {
        ensureOpen();
        return new ConvPlan(handle, spec);
    }

    public long handle() { return handle; }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this cuDNN handle is closed");
    }

    /** {@code cudnnDestroy}; close plans first. A second close does nothing. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Downcalls.destroyHandle("cudnnDestroy", CudnnNative.DESTROY, handle, CudnnNative::check);
    }
}
