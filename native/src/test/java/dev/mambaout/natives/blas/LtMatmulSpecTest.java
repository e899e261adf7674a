package dev.mambaout.natives.blas;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Combinations cuBLASLt cannot run are refused when the spec is made, with a message naming them. */
class LtMatmulSpecTest {

    private static final RowMajorGemm G = RowMajorGemm.linear(8, 16, 32);

    @Test
    void tf32NeedsFloatInputs() {
        var e = assertThrows(IllegalArgumentException.class, () -> LtMatmulSpec.of(G, CudaDataType.BF16,
                CudaDataType.BF16, ComputeType.F32_FAST_TF32, Epilogue.NONE));
        assertTrue(e.getMessage().contains("F32_FAST_TF32") && e.getMessage().contains("BF16"), e.getMessage());
    }

    @Test
    void floatInputsGiveFloatOutput() {
        var e = assertThrows(IllegalArgumentException.class, () -> LtMatmulSpec.of(G, CudaDataType.F32,
                CudaDataType.BF16, ComputeType.F32, Epilogue.NONE));
        assertTrue(e.getMessage().contains("BF16"), e.getMessage());
    }

    @Test
    void halfInputsCannotProduceBf16() {
        var e = assertThrows(IllegalArgumentException.class, () -> LtMatmulSpec.of(G, CudaDataType.F16,
                CudaDataType.BF16, ComputeType.F32, Epilogue.NONE));
        assertTrue(e.getMessage().contains("F16"), e.getMessage());
    }

    @Test
    void alignmentMustBeAPowerOfTwoOfAtLeastOneElement() {
        var e = assertThrows(IllegalArgumentException.class, () -> new LtMatmulSpec(G, CudaDataType.F32,
                CudaDataType.F32, ComputeType.F32, Epilogue.NONE, 0, 2));
        assertTrue(e.getMessage().contains("alignmentBytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LtMatmulSpec(G, CudaDataType.BF16,
                CudaDataType.BF16, ComputeType.F32, Epilogue.NONE, 0, 24));
        assertThrows(IllegalArgumentException.class, () -> new LtMatmulSpec(G, CudaDataType.BF16,
                CudaDataType.BF16, ComputeType.F32, Epilogue.NONE, -1, 16));
    }

    @Test
    void supportedCombinationsAreAccepted() {
        assertDoesNotThrow(() -> LtMatmulSpec.of(G, CudaDataType.BF16, CudaDataType.F32, ComputeType.F32,
                Epilogue.GELU_BIAS));
        assertDoesNotThrow(() -> LtMatmulSpec.of(G, CudaDataType.F32, CudaDataType.F32,
                ComputeType.F32_FAST_TF32, Epilogue.BGRADB));
        assertDoesNotThrow(() -> new LtMatmulSpec(G, CudaDataType.BF16, CudaDataType.BF16, ComputeType.F32,
                Epilogue.BIAS, 0, 2));
    }
}
