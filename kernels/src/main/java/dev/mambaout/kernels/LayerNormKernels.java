package dev.mambaout.kernels;

/**
 * Launch geometry of the layernorm family, kept next to the catalog so every caller sizes grids and the partial
 * buffers the same way the kernels index them.
 */
public final class LayerNormKernels {

    /** Threads per block for all three kernels: 8 warps, one token per warp. */
    public static final int BLOCK = 256;
    public static final int TOKENS_PER_BLOCK = BLOCK / 32;

    private LayerNormKernels() {}

    public static int forwardGrid(int tokens) {
        checkTokens(tokens);
        return ceilDiv(tokens, TOKENS_PER_BLOCK);
    }

    /**
     * Rows each backward block handles: enough blocks to fill the GPU about four times over, but at least one row per
     * warp, so the partial buffers ({@link #backwardGrid} rows of C) stay small next to the activations.
     */
    public static int backwardRowsPerBlock(int tokens, int smCount) {
        checkTokens(tokens);
        if (smCount <= 0) throw new IllegalArgumentException("smCount must be positive, was " + smCount);
        return Math.max(TOKENS_PER_BLOCK, ceilDiv(tokens, 4 * smCount));
    }

    /** Blocks of the backward kernel = rows of each partial buffer = num_partials of the reduce kernel. */
    public static int backwardGrid(int tokens, int rowsPerBlock) {
        checkTokens(tokens);
        if (rowsPerBlock <= 0) throw new IllegalArgumentException("rowsPerBlock must be positive, was " + rowsPerBlock);
        return ceilDiv(tokens, rowsPerBlock);
    }

    public static int reduceGrid(int channels) {
        if (channels <= 0) throw new IllegalArgumentException("channels must be positive, was " + channels);
        return ceilDiv(channels, BLOCK);
    }

    private static void checkTokens(int tokens) {
        if (tokens <= 0) throw new IllegalArgumentException("tokens must be positive, was " + tokens);
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
