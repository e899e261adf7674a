package dev.mambaout.natives.cudnn;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuDNN's numbers and struct layouts that the engine uses (cudnn_cnn.h, cudnn_ops.h); loads nothing. */
final class CudnnAbi {

    /** cudnnConvolutionMode_t CUDNN_CROSS_CORRELATION: what frameworks call convolution (no filter flip). */
    static final int CROSS_CORRELATION = 1;

    /**
     * cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t share one layout: algo, status, float time, size_t memory,
     * determinism, mathType, int reserved[3].
     */
    static final StructLayout ALGO_PERF = MemoryLayout.structLayout(
            JAVA_INT.withName("algo"),
            JAVA_INT.withName("status"),
            JAVA_FLOAT.withName("time"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("memory"),
            JAVA_INT.withName("determinism"),
            JAVA_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"),
            MemoryLayout.paddingLayout(4));
    static final long PERF_ALGO = 0;
    static final long PERF_STATUS = 4;

    private CudnnAbi() {}
}
