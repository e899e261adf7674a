package dev.mambaout.natives.blas;

import dev.mambaout.natives.panama.Downcalls;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcalls into libcublas. Handles, streams and device pointers travel as {@code long} (same registers as a pointer
 * on x86-64 and aarch64), so a call never wraps an address in a new segment; only host pointers are segments.
 * Touching this class loads the library; call {@link Cublas#require()} first, so a missing library is a clear
 * {@link dev.mambaout.natives.CudaUnavailableException} rather than a class-initialisation error.
 */
final class CublasNative {

    static final SymbolLookup LIB = Cublas.require().lookup();

    static final MethodHandle CREATE = Downcalls.bind(LIB, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DESTROY = Downcalls.bind(LIB, "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    static final MethodHandle GET_VERSION = Downcalls.bind(LIB, "cublasGetVersion_v2",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    static final MethodHandle SET_STREAM = Downcalls.bind(LIB, "cublasSetStream_v2",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    static final MethodHandle SET_MATH_MODE = Downcalls.bind(LIB, "cublasSetMathMode",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
    static final MethodHandle STATUS_NAME = Downcalls.bind(LIB, "cublasGetStatusName",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle STATUS_STRING = Downcalls.bind(LIB, "cublasGetStatusString",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    /*
     * cublasGemmEx(handle, transa, transb, m, n, k, const void* alpha, const void* A, cudaDataType Atype, int lda,
     *              const void* B, cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
     *              cublasComputeType_t computeType, cublasGemmAlgo_t algo)
     */
    static final MethodHandle GEMM_EX = Downcalls.bind(LIB, "cublasGemmEx", FunctionDescriptor.of(JAVA_INT,
            JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
            JAVA_LONG, JAVA_INT, JAVA_INT,
            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT));


    private CublasNative() {}

    static String statusName(int status) {
        return Downcalls.statusText(STATUS_NAME, status, "CUBLAS_STATUS_" + status);
    }

    static String statusString(int status) {
        return Downcalls.statusText(STATUS_STRING, status, null);
    }

    static void check(String call, int status) {
        Downcalls.check(call, status, CublasNative::statusName, CublasNative::statusString);
    }
}
