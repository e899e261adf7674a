package dev.mambaout.natives.cudnn;

import org.junit.jupiter.api.Test;

import static dev.mambaout.natives.blas.LibraryMissingTest.assertNamesEveryAttempt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cuDNN pieces that need no GPU: enum values against the headers, the spec's checks, a missing library. */
class CudnnCpuTest {

    @Test
    void cudnnMissingNamesEveryAttempt() {
        assertNamesEveryAttempt(Cudnn::version, "libcudnn.so.9");
        assertNamesEveryAttempt(Cudnn::open, "libcudnn.so.9");
    }

    @Test
    void enumValuesMatchTheHeaders() {
        assertEquals(0, TensorFormat.NCHW.value());        // CUDNN_TENSOR_NCHW
        assertEquals(1, TensorFormat.NHWC.value());        // CUDNN_TENSOR_NHWC
        assertEquals(0, CudnnDataType.FLOAT.value());      // CUDNN_DATA_FLOAT
        assertEquals(2, CudnnDataType.HALF.value());       // CUDNN_DATA_HALF
        assertEquals(9, CudnnDataType.BFLOAT16.value());   // CUDNN_DATA_BFLOAT16
        assertEquals(3, CudnnMathType.FMA.value());        // CUDNN_FMA_MATH
        assertEquals(1, CudnnAbi.CROSS_CORRELATION);       // CUDNN_CROSS_CORRELATION
        // cudnnConvolutionFwdAlgoPerf_t: algo, status, float time, size_t memory, determinism, mathType, int[3]
        assertEquals(48, CudnnAbi.ALGO_PERF.byteSize());
    }

    @Test
    void depthwiseSpecHasSamePaddingAndOneChannelPerGroup() {
        ConvSpec s = ConvSpec.depthwise(2, 96, 56, 56, 7, TensorFormat.NHWC, CudnnDataType.BFLOAT16,
                CudnnMathType.DEFAULT);
        assertEquals(96, s.groups());
        assertEquals(3, s.padH());
        assertEquals(56, s.outH());
        assertEquals(56, s.outW());
        assertEquals(28, new ConvSpec(1, 3, 56, 56, 8, 3, 3, 1, 1, 2, 2, 1, 1, 1, TensorFormat.NCHW,
                CudnnDataType.FLOAT, CudnnMathType.FMA).outH());
    }

    @Test
    void badSpecsAreRefusedWithTheNumbers() {
        var e = assertThrows(IllegalArgumentException.class, () -> new ConvSpec(1, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1,
                1, 4, TensorFormat.NHWC, CudnnDataType.FLOAT, CudnnMathType.FMA));
        assertTrue(e.getMessage().contains("groups=4"), e.getMessage());
        var f = assertThrows(IllegalArgumentException.class, () -> new ConvSpec(1, 1, 4, 4, 1, 7, 7, 0, 0, 1, 1, 1,
                1, 1, TensorFormat.NCHW, CudnnDataType.FLOAT, CudnnMathType.FMA));
        assertTrue(f.getMessage().contains("does not fit"), f.getMessage());
    }
}
