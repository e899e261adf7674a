package dev.mambaout.natives.blas;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cublasLt.h's attribute numbers and struct layouts that the engine uses; loads nothing. */
final class CublasLtAbi {

    // cublasLtMatmulDescAttributes_t
    static final int DESC_TRANSA = 3;
    static final int DESC_TRANSB = 4;
    static final int DESC_EPILOGUE = 7;
    static final int DESC_BIAS_POINTER = 8;
    // cublasLtMatmulPreferenceAttributes_t
    static final int PREF_MAX_WORKSPACE_BYTES = 1;
    static final int PREF_MIN_ALIGNMENT_A_BYTES = 5;
    static final int PREF_MIN_ALIGNMENT_B_BYTES = 6;
    static final int PREF_MIN_ALIGNMENT_C_BYTES = 7;
    static final int PREF_MIN_ALIGNMENT_D_BYTES = 8;

    // cublasLtMatmulAlgoConfigAttributes_t: CUBLASLT_ALGO_CONFIG_ID = 0 ... CLUSTER_SHAPE_ID = 8, in LtAlgo's order.
    static final int ALGO_CONFIG_ATTRIBUTES = 9;

    /** cublasLtMatmulAlgo_t: {@code uint64_t data[8]}. */
    static final long ALGO_BYTES = 64;

    /** cublasLtMatmulHeuristicResult_t: algo, size_t workspaceSize, cublasStatus_t state, float wavesCount, int[4]. */
    static final StructLayout HEURISTIC_RESULT = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(8, JAVA_LONG).withName("algo"),
            JAVA_LONG.withName("workspaceSize"),
            JAVA_INT.withName("state"),
            JAVA_FLOAT.withName("wavesCount"),
            MemoryLayout.sequenceLayout(4, JAVA_INT).withName("reserved"));
    static final long RESULT_WORKSPACE = HEURISTIC_RESULT.byteOffset(MemoryLayout.PathElement.groupElement("workspaceSize"));
    static final long RESULT_STATE = HEURISTIC_RESULT.byteOffset(MemoryLayout.PathElement.groupElement("state"));
    static final long RESULT_WAVES = HEURISTIC_RESULT.byteOffset(MemoryLayout.PathElement.groupElement("wavesCount"));

    private CublasLtAbi() {}
}
