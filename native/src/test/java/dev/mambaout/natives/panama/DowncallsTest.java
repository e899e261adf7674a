package dev.mambaout.natives.panama;

import dev.mambaout.natives.CudaException;
import dev.mambaout.natives.CudaUnavailableException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared binding helper, against the C library (always present) instead of CUDA. */
class DowncallsTest {

    private static final SymbolLookup LIBC = Linker.nativeLinker().defaultLookup();

    @Test
    void bindsAndCallsAnExistingSymbol() throws Throwable {
        MethodHandle strlen = Downcalls.bind(LIBC, "strlen",
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(11L, (long) strlen.invokeExact(arena.allocateFrom("hello world")));
            assertEquals("hello world", Downcalls.cString(arena.allocateFrom("hello world")));
        }
        assertNull(Downcalls.cString(MemorySegment.NULL));
    }

    @Test
    void missingSymbolIsCudaUnavailableNamingIt() {
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> Downcalls.bind(LIBC,
                "cuMambaoutNoSuchFunction_v9", FunctionDescriptor.of(ValueLayout.JAVA_INT)));
        assertTrue(e.getMessage().contains("cuMambaoutNoSuchFunction_v9"), e.getMessage());
        assertTrue(Downcalls.bindOptional(LIBC, "cuMambaoutNoSuchFunction_v9",
                FunctionDescriptor.of(ValueLayout.JAVA_INT)).isEmpty());
    }

    @Test
    void checkPassesZeroAndDescribesAnythingElse() {
        assertEquals(0, Downcalls.check("cublasCreate_v2", 0, s -> "unused", s -> "unused"));
        CudaException e = assertThrows(CudaException.class, () -> Downcalls.check("cublasCreate_v2", 3,
                s -> s == 3 ? "CUBLAS_STATUS_ALLOC_FAILED" : "?", s -> "resource allocation failed"));
        assertEquals("cublasCreate_v2", e.call());
        assertEquals(3, e.status());
        assertEquals("CUBLAS_STATUS_ALLOC_FAILED", e.statusName());
        assertEquals("cublasCreate_v2 failed: CUBLAS_STATUS_ALLOC_FAILED (3): resource allocation failed", e.getMessage());
    }
}
