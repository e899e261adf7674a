package dev.mambaout.kernels;

/**
 * Geometry of the pointwise kernels (act_forward, act_backward, the f32/bf16 casts): 16-byte vectors per thread,
 * grid-stride. act_backward uses {@link #geometry} as act_forward does (one vector of each operand per thread).
 */
public final class ElementwiseKernels {

    public static final int BLOCK = 256;
    /** Grid cap: stride + index must stay below 2^32 (the kernels' unsigned indices); grid-stride covers the rest. */
    public static final int MAX_GRID = 1 << 20;

    private ElementwiseKernels() {}

    /** One thread per 16-byte vector of n elements of elementBytes each (the tail and unaligned views reuse them). */
    public static LaunchGeometry geometry(long n, int elementBytes) {
        if (n <= 0 || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("element count must be in [1, 2^31 - 1], was " + n);
        }
        long vectors = (n + 16 / elementBytes - 1) / (16 / elementBytes);
        return LaunchGeometry.linear((int) Math.min(MAX_GRID, (vectors + BLOCK - 1) / BLOCK), BLOCK);
    }

    /** The casts (cast_f32_bf16, cast_bf16_f32): one thread per 8 elements (16 bytes of bf16, 32 of f32). */
    public static LaunchGeometry castGeometry(long n) {
        return geometry(n, 2);
    }
}
