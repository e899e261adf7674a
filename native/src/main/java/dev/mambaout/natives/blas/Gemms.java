package dev.mambaout.natives.blas;

import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.jcuda.JCudaDriverBackend;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * Picks the {@link Gemm} for a driver backend. Panama backend: the Panama cuBLAS binding. JCuda backend: JCublas
 * 12.6.0 where libcublas.so.12 loads; otherwise the Panama binding, with one log line (logger
 * {@code dev.mambaout.natives.blas}) naming the error that stopped JCublas. If neither loads, the exception names
 * both failures and every path that was tried.
 */
public final class Gemms {

    private static final System.Logger LOG = System.getLogger("dev.mambaout.natives.blas");

    private Gemms() {}

    /**
     * Opens a GEMM for {@code backend} in the current CUDA context, without the driver object: on the JCuda backend
     * JCublas then knows only the streams JCuda names itself (0, 1, 2); prefer {@link #open(CudaDriver)}.
     */
    public static Gemm open(CudaDriver.Backend backend) {
        return open(backend, Gemms::wellKnownStreams);
    }

    /**
     * Opens a GEMM for this driver in the current CUDA context; on the JCuda backend, JCublas (where it loads) is
     * given that backend's stream objects, so any stream it created can be used.
     */
    public static Gemm open(CudaDriver driver) {
        LongFunction<CUstream> streams = driver instanceof JCudaDriverBackend j ? j::jcudaStream : Gemms::wellKnownStreams;
        return open(driver.backend(), streams);
    }

    private static Gemm open(CudaDriver.Backend backend, LongFunction<CUstream> jcudaStreams) {
        return Gemms.<Gemm>select(backend, () -> JCublasGemm.open(jcudaStreams), PanamaGemm::open,
                Gemm::implementation, LOG);
    }

    /**
     * The decision itself, with the two bindings supplied (and described), so it can be tested where neither library
     * exists.
     */
    static <G> G select(CudaDriver.Backend backend, Supplier<? extends G> jcublas, Supplier<? extends G> panama,
                        Function<? super G, String> describe, System.Logger log) {
        if (backend == CudaDriver.Backend.PANAMA) return panama.get();
        LinkageError jcublasError;
        try {
            return jcublas.get();
        } catch (LinkageError e) {
            jcublasError = e;
        }
        try {
            G g = panama.get();
            log.log(System.Logger.Level.INFO, "JCublas 12.6.0 did not load (" + oneLine(jcublasError)
                    + "), so GEMMs use the Panama cuBLAS binding: " + describe.apply(g));
            return g;
        } catch (CudaUnavailableException e) {
            CudaUnavailableException both = new CudaUnavailableException("no cuBLAS for the JCuda backend: JCublas"
                    + " 12.6.0 did not load (" + oneLine(jcublasError) + "), and the Panama fallback failed too: "
                    + e.getMessage(), e);
            both.addSuppressed(jcublasError);
            throw both;
        }
    }

    /**
     * The error as one line. JCuda's loader folds every attempt, stack traces included, into one multi-line
     * UnsatisfiedLinkError; the last error line in it is the one that says what is missing, e.g.
     * {@code libJCublas2-12.6.0-linux-x86_64.so: libcublas.so.12: cannot open shared object file}.
     */
    static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        String last = null;
        for (String line : message.split("\\R")) {
            String t = line.strip();
            if (t.startsWith("java.lang.") && t.contains("Error: ")) last = t.substring("java.lang.".length());
        }
        if (last != null) return last;
        String first = message.lines().findFirst().orElse("").strip();
        return e.getClass().getSimpleName() + (first.isEmpty() ? "" : ": " + first);
    }

    /** The streams JCuda names itself: 0 (NULL), 1 (legacy), 2 (per-thread). */
    private static CUstream wellKnownStreams(long stream) {
        if (stream == 0) return new CUstream();
        if (stream == 1) return JCudaDriver.CU_STREAM_LEGACY;
        if (stream == 2) return JCudaDriver.CU_STREAM_PER_THREAD;
        throw new IllegalArgumentException("stream 0x" + Long.toHexString(stream) + ": JCublas needs the JCuda"
                + " backend's CUstream object for it; open the GEMM with Gemms.open(driver)");
    }
}
