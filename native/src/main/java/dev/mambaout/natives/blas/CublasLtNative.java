package dev.mambaout.natives.blas;

import dev.mambaout.natives.panama.Downcalls;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcalls into libcublasLt (cublasLt.h); the numbers and struct layouts are in {@link CublasLtAbi}. Opaque descriptors,
 * streams and device pointers travel as {@code long}. Call {@link CublasLt#require()} before touching the handles.
 */
final class CublasLtNative {

    static final SymbolLookup LIB = CublasLt.require().lookup();

    static final MethodHandle CREATE = Downcalls.bind(LIB, "cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DESTROY = Downcalls.bind(LIB, "cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    static final MethodHandle GET_VERSION = Downcalls.bind(LIB, "cublasLtGetVersion", FunctionDescriptor.of(JAVA_LONG));
    static final MethodHandle STATUS_NAME = Downcalls.bind(LIB, "cublasLtGetStatusName",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle STATUS_STRING = Downcalls.bind(LIB, "cublasLtGetStatusString",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    /** cublasLtMatmulDescCreate(cublasLtMatmulDesc_t*, cublasComputeType_t, cudaDataType_t scaleType). */
    static final MethodHandle DESC_CREATE = Downcalls.bind(LIB, "cublasLtMatmulDescCreate",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle DESC_DESTROY = Downcalls.bind(LIB, "cublasLtMatmulDescDestroy",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    static final MethodHandle DESC_SET = Downcalls.bind(LIB, "cublasLtMatmulDescSetAttribute",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    /** cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t*, cudaDataType, uint64_t rows, uint64_t cols, int64_t ld). */
    static final MethodHandle LAYOUT_CREATE = Downcalls.bind(LIB, "cublasLtMatrixLayoutCreate",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MethodHandle LAYOUT_DESTROY = Downcalls.bind(LIB, "cublasLtMatrixLayoutDestroy",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    static final MethodHandle PREF_CREATE = Downcalls.bind(LIB, "cublasLtMatmulPreferenceCreate",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle PREF_DESTROY = Downcalls.bind(LIB, "cublasLtMatmulPreferenceDestroy",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    static final MethodHandle PREF_SET = Downcalls.bind(LIB, "cublasLtMatmulPreferenceSetAttribute",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    /*
     * cublasLtMatmulAlgoGetHeuristic(handle, operationDesc, Adesc, Bdesc, Cdesc, Ddesc, preference,
     *                                int requestedAlgoCount, cublasLtMatmulHeuristicResult_t[], int* returnAlgoCount)
     */
    static final MethodHandle HEURISTIC = Downcalls.bind(LIB, "cublasLtMatmulAlgoGetHeuristic",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_INT, ADDRESS, ADDRESS));
    /*
     * cublasLtMatmulAlgoConfigGetAttribute(const cublasLtMatmulAlgo_t*, cublasLtMatmulAlgoConfigAttributes_t,
     *                                      void* buf, size_t sizeInBytes, size_t* sizeWritten)
     */
    static final MethodHandle ALGO_CONFIG_GET = Downcalls.bind(LIB, "cublasLtMatmulAlgoConfigGetAttribute",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
    /*
     * cublasLtMatmul(handle, computeDesc, alpha*, A, Adesc, B, Bdesc, beta*, C, Cdesc, D, Ddesc,
     *                const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspaceSize, cudaStream_t)
     */
    static final MethodHandle MATMUL = Downcalls.bind(LIB, "cublasLtMatmul",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));

    private CublasLtNative() {}

    static String statusName(int status) {
        return Downcalls.statusText(STATUS_NAME, status, "CUBLAS_STATUS_" + status);
    }

    static String statusString(int status) {
        return Downcalls.statusText(STATUS_STRING, status, null);
    }

    static void check(String call, int status) {
        Downcalls.check(call, status, CublasLtNative::statusName, CublasLtNative::statusString);
    }
}
