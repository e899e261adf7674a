package dev.mambaout.natives.blas;

/**
 * What a cuBLASLt plan computes: D = epilogue(alpha op(A) op(B) + beta C (+ bias)) in the row-major terms of
 * {@link RowMajorGemm}. A and B have type {@code abType}; C, D and the bias (or bias gradient) have type
 * {@code dType}. Scaling is always in float.
 *
 * @param maxWorkspaceBytes the most workspace the caller will pass to {@link LtMatmul#run}; the heuristics only
 *                          consider algorithms that fit (0 = none; 32 MiB lets Hopper use its best kernels)
 * @param alignmentBytes    the alignment the caller promises for every pointer passed to {@code run} (a power of two,
 *                          at least one element); the heuristics pick kernels that need no more, and {@code run} checks
 *                          each pointer against it
 */
public record LtMatmulSpec(RowMajorGemm shape, CudaDataType abType, CudaDataType dType, ComputeType compute,
                           Epilogue epilogue, long maxWorkspaceBytes, int alignmentBytes) {

    /** 32 MiB: what NVIDIA recommends for Hopper GEMMs. */
    public static final long DEFAULT_WORKSPACE = 32L << 20;

    /** Device allocations are 256-byte aligned; 16 bytes is what the engine's arena guarantees for every offset. */
    public static final int DEFAULT_ALIGNMENT = 16;

    public LtMatmulSpec {
        if (shape == null || abType == null || dType == null || compute == null || epilogue == null) {
            throw new IllegalArgumentException("LtMatmulSpec needs every field, got " + shape + ", " + abType + ", "
                    + dType + ", " + compute + ", " + epilogue);
        }
        if (compute == ComputeType.F32_FAST_TF32 && abType != CudaDataType.F32) {
            throw new IllegalArgumentException("compute " + compute + " takes float inputs, got A/B " + abType
                    + "; use ComputeType.F32 for " + abType);
        }
        if (abType == CudaDataType.F32 && dType != CudaDataType.F32) {
            throw new IllegalArgumentException("float A/B give a float D in cuBLASLt, got D " + dType);
        }
        if (abType != CudaDataType.F32 && dType != abType && dType != CudaDataType.F32) {
            throw new IllegalArgumentException("A/B " + abType + " can produce D of " + abType + " or F32, not " + dType);
        }
        if (maxWorkspaceBytes < 0) throw new IllegalArgumentException("maxWorkspaceBytes < 0: " + maxWorkspaceBytes);
        int minAlign = Math.max(abType.bytes(), dType.bytes());
        if (Integer.bitCount(alignmentBytes) != 1 || alignmentBytes < minAlign || alignmentBytes > 256) {
            throw new IllegalArgumentException("alignmentBytes must be a power of two in [" + minAlign
                    + ", 256], got " + alignmentBytes);
        }
    }

    /** A spec with {@link #DEFAULT_WORKSPACE} and {@link #DEFAULT_ALIGNMENT}. */
    public static LtMatmulSpec of(RowMajorGemm shape, CudaDataType abType, CudaDataType dType, ComputeType compute,
                                  Epilogue epilogue) {
        return new LtMatmulSpec(shape, abType, dType, compute, epilogue, DEFAULT_WORKSPACE, DEFAULT_ALIGNMENT);
    }
}
