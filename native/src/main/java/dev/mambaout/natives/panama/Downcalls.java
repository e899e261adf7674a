package dev.mambaout.natives.panama;

import dev.mambaout.natives.CudaException;
import dev.mambaout.natives.CudaUnavailableException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * Binding Panama downcalls to a loaded CUDA-family library, shared by every binding in this module (driver, cuBLAS,
 * cuBLASLt, NVRTC, cuDNN). A missing symbol is a {@link CudaUnavailableException} that names the symbol and the
 * library, never a {@code NoSuchElementException} from deep inside a static initializer.
 */
public final class Downcalls {

    private static final Linker LINKER = Linker.nativeLinker();

    private Downcalls() {}

    /**
     * A downcall handle for {@code name} in {@code lookup}.
     *
     * @throws CudaUnavailableException if the library has no such symbol (e.g. a driver older than the versioned
     *                                  entry point), naming it
     */
    public static MethodHandle bind(SymbolLookup lookup, String name, FunctionDescriptor descriptor,
                                    Linker.Option... options) {
        MemorySegment address = lookup.find(name).orElseThrow(() -> new CudaUnavailableException(
                "symbol " + name + " not found in the loaded library (" + lookup + "); the library is too old or not"
                        + " the one expected"));
        return LINKER.downcallHandle(address, descriptor, options);
    }

    /** Like {@link #bind} for symbols only some library versions export (the caller picks a fallback). */
    public static Optional<MethodHandle> bindOptional(SymbolLookup lookup, String name, FunctionDescriptor descriptor,
                                                      Linker.Option... options) {
        return lookup.find(name).map(a -> LINKER.downcallHandle(a, descriptor, options));
    }

    /**
     * Throws {@link CudaException} for a non-zero status, describing it with the library's own functions. Pass
     * non-capturing lambdas or method references: the JVM makes those once, so the success path allocates nothing.
     *
     * @param call   the function that returned {@code status}, e.g. {@code cublasLtMatmul}
     * @param name   status to symbolic name (e.g. via cublasGetStatusName)
     * @param text   status to description (e.g. via cublasGetStatusString); may return null
     * @return {@code status} (always 0) so a call can be written inline
     */
    public static int check(String call, int status, IntFunction<String> name, IntFunction<String> text) {
        if (status != 0) throw new CudaException(call, status, name.apply(status), text.apply(status));
        return status;
    }

    /** Reads a NUL-terminated C string the library owns (e.g. from cuGetErrorString); {@code null} for NULL. */
    public static String cString(MemorySegment pointer) {
        if (pointer == null || pointer.equals(MemorySegment.NULL)) return null;
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /**
     * The text a library gives for a status through a {@code const char* f(int status)} function
     * (cublasGetStatusName, cudnnGetErrorString, nvrtcGetErrorString, ...), or {@code fallback} if it gives none: an
     * error message must never fail while describing an error.
     */
    public static String statusText(MethodHandle textOfStatus, int status, String fallback) {
        try {
            String text = cString((MemorySegment) textOfStatus.invokeExact(status));
            return text == null ? fallback : text;
        } catch (Throwable t) {
            return fallback;
        }
    }

    /** How a library checks a status: its {@code check(call, status)}, which throws on failure. */
    @FunctionalInterface
    public interface StatusCheck {
        void check(String call, int status);
    }

    /**
     * Calls a library's {@code status create(handle_t* out)} (cublasCreate_v2, cublasLtCreate, cudnnCreate, ...) and
     * returns the new handle. Cold path: it allocates the out-cell.
     */
    public static long createHandle(String call, MethodHandle create, StatusCheck check) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            check.check(call, (int) create.invokeExact(out));
            return out.get(ValueLayout.JAVA_LONG, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(call + " downcall failed", t);
        }
    }

    /** Calls a library's {@code status destroy(handle_t)} and checks the status. */
    public static void destroyHandle(String call, MethodHandle destroy, long handle, StatusCheck check) {
        int status;
        try {
            status = (int) destroy.invokeExact(handle);
        } catch (Throwable t) {
            throw new IllegalStateException(call + " downcall failed", t);
        }
        check.check(call, status);
    }
}
