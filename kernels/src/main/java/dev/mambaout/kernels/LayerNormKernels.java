package dev.mambaout.kernels;

/**
 * Launch geometry of the layernorm family, kept next to the catalog so every caller sizes grids and the partial
 * buffers the same way the kernels index them.
 */
public final class LayerNormKernels {

    /** Threads per block for all three kernels: 8 warps. */
    public static final int BLOCK = 256;
    /** Tokens a forward block handles at one token per warp, the fewest it ever handles (long rows). */
    public static final int TOKENS_PER_BLOCK = BLOCK / 32;
    /** Channels one block of the reduce kernel sums (one per lane). */
    public static final int REDUCE_CHANNELS_PER_BLOCK = 32;
    /** Backward blocks resident per SM: the kernel is compiled with __launch_bounds__(256, 3). */
    public static final int BACKWARD_BLOCKS_PER_SM = 3;

    private static final int GROUP_MAX_UNITS = 96;
    private static final int FORWARD_WIDE_MAX_UNITS = 192;

    private LayerNormKernels() {}

    /** The forward grid for this C: blocks of 8 warps, {@link #forwardTokensPerWarp} tokens per warp. */
    public static int forwardGrid(int tokens, int channels) {
        checkTokens(tokens);
        return ceilDiv(tokens, TOKENS_PER_BLOCK * forwardTokensPerWarp(channels));
    }

    /**
     * Tokens one warp of layernorm_forward handles at once, mirroring ln_tokens_per_warp in layernorm.cu: a token is
     * held in registers by the smallest group of 4, 8, 16 or 32 lanes that holds it in 3 "units" per lane (a unit is a
     * float4 when C % 4 == 0, else a float); a full warp also takes up to 6 float4 (C <= 768); longer rows take a
     * warp each. Assumes 16-byte aligned tensors (what the arena gives); a misaligned view makes the kernel use fewer
     * tokens per warp, still correct because the kernel is grid-stride.
     */
    public static int forwardTokensPerWarp(int channels) {
        checkChannels(channels);
        boolean vec = channels % 4 == 0;
        int units = vec ? channels / 4 : channels;
        if (units > (vec ? FORWARD_WIDE_MAX_UNITS : GROUP_MAX_UNITS)) return 1;
        int lanes = units <= 12 ? 4 : units <= 24 ? 8 : units <= 48 ? 16 : 32;
        return 32 / lanes;
    }

    /**
     * Rows each backward block handles: one wave of {@link #BACKWARD_BLOCKS_PER_SM} blocks per SM (a second, partial
     * wave would leave most SMs idle at the end), but at least one row per warp; the partial buffers
     * ({@link #backwardGrid} rows of C) stay small next to the activations.
     */
    public static int backwardRowsPerBlock(int tokens, int smCount) {
        checkTokens(tokens);
        if (smCount <= 0) throw new IllegalArgumentException("smCount must be positive, was " + smCount);
        return Math.max(TOKENS_PER_BLOCK, ceilDiv(tokens, BACKWARD_BLOCKS_PER_SM * smCount));
    }

    /** Blocks of the backward kernel = rows of each partial buffer = num_partials of the reduce kernel. */
    public static int backwardGrid(int tokens, int rowsPerBlock) {
        checkTokens(tokens);
        if (rowsPerBlock <= 0) throw new IllegalArgumentException("rowsPerBlock must be positive, was " + rowsPerBlock);
        return ceilDiv(tokens, rowsPerBlock);
    }

    public static int reduceGrid(int channels) {
        checkChannels(channels);
        return ceilDiv(channels, REDUCE_CHANNELS_PER_BLOCK);
    }

    private static void checkTokens(int tokens) {
        if (tokens <= 0) throw new IllegalArgumentException("tokens must be positive, was " + tokens);
    }

    private static void checkChannels(int channels) {
        if (channels <= 0) throw new IllegalArgumentException("channels must be positive, was " + channels);
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
