package dev.mambaout.natives.blas;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The numbers passed to cuBLAS/cuBLASLt, against the header text (library_types.h of CUDA 13.0 on this machine,
 * cublas_api.h and cublasLt.h): a wrong value here is a silent wrong answer on the GPU.
 */
class EnumValuesTest {

    @Test
    void dataTypesMatchLibraryTypesH() {
        assertEquals(0, CudaDataType.F32.value());    // CUDA_R_32F  =  0
        assertEquals(2, CudaDataType.F16.value());    // CUDA_R_16F  =  2
        assertEquals(14, CudaDataType.BF16.value());  // CUDA_R_16BF = 14
        assertEquals(4, CudaDataType.F32.bytes());
        assertEquals(2, CudaDataType.BF16.bytes());
    }

    @Test
    void computeTypesAndMathModesMatchCublasApiH() {
        assertEquals(68, ComputeType.F32.value());            // CUBLAS_COMPUTE_32F
        assertEquals(77, ComputeType.F32_FAST_TF32.value());  // CUBLAS_COMPUTE_32F_FAST_TF32
        assertEquals(0, MathMode.DEFAULT.value());            // CUBLAS_DEFAULT_MATH
        assertEquals(3, MathMode.TF32_TENSOR_OP.value());     // CUBLAS_TF32_TENSOR_OP_MATH
        assertEquals(-1, ColumnMajorGemm.DEFAULT_ALGO);       // CUBLAS_GEMM_DEFAULT
    }

    @Test
    void epiloguesMatchCublasLtH() {
        assertEquals(1, Epilogue.NONE.value());        // CUBLASLT_EPILOGUE_DEFAULT
        assertEquals(4, Epilogue.BIAS.value());        // CUBLASLT_EPILOGUE_BIAS
        assertEquals(32, Epilogue.GELU.value());       // CUBLASLT_EPILOGUE_GELU
        assertEquals(Epilogue.GELU.value() | Epilogue.BIAS.value(), Epilogue.GELU_BIAS.value());  // GELU | BIAS = 36
        assertEquals(512, Epilogue.BGRADB.value());    // CUBLASLT_EPILOGUE_BGRADB
    }

    @Test
    void matmulAttributeNumbersMatchCublasLtH() {
        assertEquals(3, CublasLtAbi.DESC_TRANSA);
        assertEquals(4, CublasLtAbi.DESC_TRANSB);
        assertEquals(7, CublasLtAbi.DESC_EPILOGUE);
        assertEquals(8, CublasLtAbi.DESC_BIAS_POINTER);
        assertEquals(1, CublasLtAbi.PREF_MAX_WORKSPACE_BYTES);
        assertEquals(5, CublasLtAbi.PREF_MIN_ALIGNMENT_A_BYTES);
        assertEquals(8, CublasLtAbi.PREF_MIN_ALIGNMENT_D_BYTES);
        // cublasLtMatmulHeuristicResult_t: 64-byte algo, size_t workspaceSize, int state, float waves, int[4].
        assertEquals(96, CublasLtAbi.HEURISTIC_RESULT.byteSize());
        assertEquals(64, CublasLtAbi.RESULT_WORKSPACE);
        assertEquals(72, CublasLtAbi.RESULT_STATE);
    }

    @Test
    void biasVectorLengthsFollowTheRowMajorShape() {
        RowMajorGemm linear = RowMajorGemm.linear(100, 64, 256);   // tokens, in, out
        assertEquals(256, Epilogue.BIAS.biasLength(linear));        // one bias per output feature
        assertEquals(256, Epilogue.GELU_BIAS.biasLength(linear));
        assertEquals(0, Epilogue.GELU.biasLength(linear));
        assertEquals(0, Epilogue.NONE.biasLength(linear));
        RowMajorGemm wgrad = new RowMajorGemm(256, 64, 100, true, false);   // dW[out,in] = dY^T X
        assertEquals(256, Epilogue.BGRADB.biasLength(wgrad));               // db[out]
        assertTrue(Epilogue.BGRADB.writesBias());
        assertFalse(Epilogue.BGRADB.readsBias());
        assertTrue(Epilogue.GELU_BIAS.readsBias());
    }
}
