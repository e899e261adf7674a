package dev.mambaout.natives.blas;

import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.natives.CudaUnavailableException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which cuBLAS binding serves GEMMs, decided without a GPU. */
class GemmsTest {

    /** Collects what {@link Gemms} logs. */
    private static final class Recorder implements System.Logger {
        final List<String> lines = new ArrayList<>();

        @Override public String getName() { return "test"; }
        @Override public boolean isLoggable(Level level) { return true; }
        @Override public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) { lines.add(msg); }
        @Override public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            lines.add(format);
        }
    }

    private static final Function<String, String> SAME = s -> s;

    private static Supplier<String> failing(Throwable t) {
        return () -> {
            if (t instanceof RuntimeException r) throw r;
            throw (Error) t;
        };
    }

    @Test
    void panamaBackendUsesPanamaWithoutTryingJCublas() {
        Recorder log = new Recorder();
        String g = Gemms.select(Backend.PANAMA, failing(new AssertionError("JCublas must not be tried")),
                () -> "panama", SAME, log);
        assertEquals("panama", g);
        assertTrue(log.lines.isEmpty(), log.lines.toString());
    }

    @Test
    void jcudaBackendUsesJCublasWhenItLoads() {
        Recorder log = new Recorder();
        String g = Gemms.select(Backend.JCUDA, () -> "jcublas", failing(new AssertionError("no fallback needed")),
                SAME, log);
        assertEquals("jcublas", g);
        assertTrue(log.lines.isEmpty(), log.lines.toString());
    }

    @Test
    void jcudaBackendFallsBackToPanamaWithOneLineNamingTheLinkError() {
        Recorder log = new Recorder();
        var ule = new UnsatisfiedLinkError("libcublas.so.12: cannot open shared object file");
        String g = Gemms.select(Backend.JCUDA, failing(ule), () -> "panama cuBLAS 130100", SAME, log);
        assertEquals("panama cuBLAS 130100", g);
        assertEquals(1, log.lines.size(), log.lines.toString());
        String line = log.lines.getFirst();
        assertTrue(line.contains("UnsatisfiedLinkError") && line.contains("libcublas.so.12")
                && line.contains("panama cuBLAS 130100"), line);
    }

    /** JCuda's loader error as seen on the H100 (CUDA 13, no libcublas.so.12), condensed to its telling line. */
    @Test
    void jcudaLoaderErrorBecomesOneLine() {
        var ule = new UnsatisfiedLinkError("Error while loading native library \"JCublas2-12.6.0-linux-x86_64\"\n"
                + "java.lang.UnsatisfiedLinkError: no JCublas2-12.6.0-linux-x86_64 in java.library.path: /usr/lib\n"
                + "\tat jcuda.jcublas.JCublas2.initialize(JCublas2.java:86)\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCublas2-12.6.0-linux-x86_64.so: libcublas.so.12: cannot"
                + " open shared object file: No such file or directory\n"
                + "\tat jcuda.jcublas.JCublas2.initialize(JCublas2.java:86)\n");
        assertEquals("UnsatisfiedLinkError: /tmp/libJCublas2-12.6.0-linux-x86_64.so: libcublas.so.12: cannot open"
                + " shared object file: No such file or directory", Gemms.oneLine(ule));
        Recorder log = new Recorder();
        Gemms.select(Backend.JCUDA, failing(ule), () -> "panama", SAME, log);
        assertEquals(1, log.lines.size());
        assertTrue(!log.lines.getFirst().contains("\n") && log.lines.getFirst().contains("libcublas.so.12"),
                log.lines.getFirst());
        assertEquals("NoClassDefFoundError: Could not initialize class x",
                Gemms.oneLine(new NoClassDefFoundError("Could not initialize class x")));
    }

    @Test
    void whenNeitherLoadsTheErrorNamesBoth() {
        Recorder log = new Recorder();
        var ule = new UnsatisfiedLinkError("libcublas.so.12: cannot open shared object file");
        var missing = new CudaUnavailableException("could not load cublas (libcublas.so.13, libcublas.so.12)");
        var e = assertThrows(CudaUnavailableException.class,
                () -> Gemms.select(Backend.JCUDA, failing(ule), failing(missing), SAME, log));
        assertTrue(e.getMessage().contains("UnsatisfiedLinkError") && e.getMessage().contains("libcublas.so.13"),
                e.getMessage());
        assertEquals(ule, e.getSuppressed()[0]);
    }

    /** The real libraries: on a machine without cuBLAS (this one, CI) the message must say what was tried. */
    @Test
    void realOpenWithoutCublasSaysWhyForBothBindings() {
        CudaUnavailableException e;
        try {
            Gemm g = Gemms.open(Backend.JCUDA);
            g.close();
            Assumptions.abort("a cuBLAS binding loaded here (" + g.implementation() + "); nothing to check");
            return;
        } catch (CudaUnavailableException caught) {
            e = caught;
        }
        String m = e.getMessage();
        assertTrue(m.contains("JCublas") && m.contains("libcublas.so.13") && m.contains("libcublas.so.12"), m);
        assertTrue(m.contains("LinkError") || m.contains("NoClassDefFoundError"), m);
    }
}
