package dev.mambaout.natives;

import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Backend selection and the availability report, on a machine without a GPU. */
class CudaTest {

    @Test
    void parsesBackendsInAnyCaseAndWithBlanks() {
        assertEquals(Backend.PANAMA, Cuda.parseBackend("panama", "test"));
        assertEquals(Backend.PANAMA, Cuda.parseBackend("PaNaMa", "test"));
        assertEquals(Backend.JCUDA, Cuda.parseBackend(" JCUDA\n", "test"));
    }

    @Test
    void badBackendNamesTheValueTheSourceAndTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Cuda.parseBackend("cublas", "-Dmambaout.cuda.backend"));
        assertTrue(e.getMessage().contains("-Dmambaout.cuda.backend=\"cublas\""), e.getMessage());
        assertTrue(e.getMessage().contains("panama, jcuda"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Cuda.parseBackend("", "test"));
        assertThrows(IllegalArgumentException.class, () -> Cuda.parseBackend(null, "test"));
    }

    @Test
    void propertySelectsTheBackendAndPanamaIsTheDefault() {
        assumeTrue(System.getenv(Cuda.BACKEND_ENV) == null, "MAMBAOUT_CUDA_BACKEND is set in this environment");
        String old = System.getProperty(Cuda.BACKEND_PROPERTY);
        try {
            System.clearProperty(Cuda.BACKEND_PROPERTY);
            assertEquals(Backend.PANAMA, Cuda.configuredBackend());
            System.setProperty(Cuda.BACKEND_PROPERTY, "JCuda");
            assertEquals(Backend.JCUDA, Cuda.configuredBackend());
            System.setProperty(Cuda.BACKEND_PROPERTY, "opencl");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Cuda::configuredBackend);
            assertTrue(e.getMessage().contains("opencl"), e.getMessage());
            // availability() reports a bad setting instead of throwing
            Cuda.Availability a = Cuda.availability();
            assertFalse(a.available());
            assertTrue(a.reason().contains("opencl") && a.reason().contains("panama, jcuda"), a.reason());
        } finally {
            if (old == null) System.clearProperty(Cuda.BACKEND_PROPERTY);
            else System.setProperty(Cuda.BACKEND_PROPERTY, old);
        }
    }

    @Test
    void withoutADriverBothBackendsReportNoDriverAndWhereTheyLooked() {
        for (Backend b : Backend.values()) {
            Cuda.Availability a = Cuda.availability(b);
            assumeFalse(a.available(), "this machine has a working CUDA driver: " + a.reason());
            assertTrue(a.reason().startsWith("no usable CUDA driver (" + b.name().toLowerCase() + " backend)"),
                    a.reason());
            assertTrue(a.reason().contains("libcuda.so.1") && a.reason().contains("libcuda.so"), a.reason());
            assertTrue(a.reason().contains("Attempts:"), a.reason());
            assertThrows(CudaUnavailableException.class, () -> Cuda.open(b));
            assertEquals(a, Cuda.availability(b), "availability is computed once");
        }
    }

    /** JCuda's loader folds the stack traces of each attempt into one message; the reason must stay one line. */
    @Test
    void summaryOfAMultiLineLoaderErrorIsOneLineWithEachAttemptsReason() {
        StringBuilder m = new StringBuilder("Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\n"
                + "Operating system name: Linux\nArchitecture: amd64\nArchitecture bit size: 64\n"
                + "---(start of nested stack traces)---\nStack trace from the attempt to load the library as a file:\n"
                + "java.lang.UnsatisfiedLinkError: no JCudaDriver-12.6.0-linux-x86_64 in java.library.path: /usr/lib\n");
        for (int i = 0; i < 25; i++) m.append("\tat java.base/java.lang.ClassLoader.loadLibrary(ClassLoader.java:").append(i).append(")\n");
        m.append("Stack trace from the attempt to load the library as a resource:\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file\n");
        for (int i = 0; i < 25; i++) m.append("\tat jcuda.LibUtils.loadLibrary(LibUtils.java:").append(i).append(")\n");
        m.append("---(end of nested stack traces)---\n");
        String s = Cuda.summary(new UnsatisfiedLinkError(m.toString()));
        assertFalse(s.contains("\n") || s.contains("LibUtils.java"), s);
        assertTrue(s.startsWith("java.lang.UnsatisfiedLinkError: Error while loading native library \"JCudaDriver"), s);
        assertTrue(s.contains("no JCudaDriver-12.6.0-linux-x86_64 in java.library.path") && s.contains("libcuda.so.1: cannot open"), s);
        assertEquals("java.lang.IllegalStateException: plain", Cuda.summary(new IllegalStateException("plain")));
        assertEquals("java.lang.IllegalStateException", Cuda.summary(new IllegalStateException()));
    }
}
