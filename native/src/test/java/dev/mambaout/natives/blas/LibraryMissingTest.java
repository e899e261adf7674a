package dev.mambaout.natives.blas;

import dev.mambaout.natives.CudaUnavailableException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where cuBLAS/cuBLASLt are not installed, opening them says every soname and place that was tried. */
public class LibraryMissingTest {

    public static void assertNamesEveryAttempt(Executable open, String... sonames) {
        CudaUnavailableException e;
        try {
            open.execute();
            Assumptions.abort("the library is installed here; nothing to check");
            return;
        } catch (CudaUnavailableException caught) {
            e = caught;
        } catch (Throwable t) {
            throw new AssertionError("expected CudaUnavailableException, got " + t, t);
        }
        String m = e.getMessage();
        for (String s : sonames) assertTrue(m.contains(s), "message lacks " + s + ": " + m);
        assertTrue(m.contains("Looked in") && m.contains("Attempts:"), m);
        // the second attempt fails the same way, not with a NoClassDefFoundError from a half-initialised class
        assertThrows(CudaUnavailableException.class, open);
    }

    @Test
    void cublasMissing() {
        assertNamesEveryAttempt(Cublas::open, "libcublas.so.13", "libcublas.so.12");
    }

    @Test
    void cublasLtMissing() {
        assertNamesEveryAttempt(CublasLt::open, "libcublasLt.so.13", "libcublasLt.so.12");
        assertNamesEveryAttempt(CublasLt::version, "libcublasLt.so.13");
    }
}
