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

    /** Bytes one vector load of the forward moves: a float4, or 8 bf16. */
    public static final int FORWARD_UNIT_BYTES = 16;

    private static final int GROUP_MAX_UNITS = 96;
    private static final int FORWARD_WIDE_MAX_CHANNELS = 768;

    private LayerNormKernels() {}

    /** The f32 forward grid: {@link #forwardGrid(int, int, int)} with 4-byte elements. */
    public static int forwardGrid(int tokens, int channels) { return forwardGrid(tokens, channels, Float.BYTES); }

    /**
     * The grid of layernorm_forward (elementBytes 4) or layernorm_forward_bf16 (2): blocks of 8 warps,
     * {@link #forwardTokensPerWarp(int, int)} tokens per warp.
     */
    public static int forwardGrid(int tokens, int channels, int elementBytes) {
        checkTokens(tokens);
        return ceilDiv(tokens, TOKENS_PER_BLOCK * forwardTokensPerWarp(channels, elementBytes));
    }

    /** Grid and block of the forward for f32 (elementBytes 4) or bf16 (2) storage; no dynamic shared memory. */
    public static LaunchGeometry forward(int tokens, int channels, int elementBytes) {
        return LaunchGeometry.linear(forwardGrid(tokens, channels, elementBytes), BLOCK);
    }

    /** Tokens per warp of the f32 forward: {@link #forwardTokensPerWarp(int, int)} with 4-byte elements. */
    public static int forwardTokensPerWarp(int channels) { return forwardTokensPerWarp(channels, Float.BYTES); }

    /**
     * Tokens one warp of the forward handles at once, mirroring ln_tokens_per_warp in layernorm.cu: a token is held in
     * registers by the smallest group of 4, 8, 16 or 32 lanes that holds it in 3 "units" per lane (a unit is 16 bytes,
     * a float4 or 8 bf16, when C is a multiple of it, else one element); a full warp also takes up to 24 values per
     * lane on the vector path (C <= 768); longer rows take a warp each. Assumes 16-byte aligned tensors (what the arena
     * gives); a misaligned view makes the kernel use fewer tokens per warp, still correct because the kernel is
     * grid-stride.
     */
    public static int forwardTokensPerWarp(int channels, int elementBytes) {
        checkChannels(channels);
        if (elementBytes != Float.BYTES && elementBytes != 2) {
            throw new IllegalArgumentException("the layernorm forward stores f32 (4-byte) or bf16 (2-byte) elements, not "
                    + elementBytes + "-byte ones");
        }
        int unit = FORWARD_UNIT_BYTES / elementBytes;
        boolean vec = channels % unit == 0;
        int units = vec ? channels / unit : channels;
        if (units > (vec ? FORWARD_WIDE_MAX_CHANNELS / unit : GROUP_MAX_UNITS)) return 1;
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

    /**
     * Grid and block of every layernorm_backward* kernel (the f32 original and the _<dout>_<x>_<dinp>[_acc] variants
     * share the geometry: their vector unit is 4 values whatever the storage type); no dynamic shared memory.
     */
    public static LaunchGeometry backward(int tokens, int rowsPerBlock) {
        return LaunchGeometry.linear(backwardGrid(tokens, rowsPerBlock), BLOCK);
    }

    /** Grid and block of layernorm_backward_reduce. */
    public static LaunchGeometry backwardReduce(int channels) { return LaunchGeometry.linear(reduceGrid(channels), BLOCK); }

    /**
     * F32 elements of the backward's workspace: the dweight partials [grid, C] then the dbias partials [grid, C],
     * grid = {@link #backwardGrid}(tokens, rowsPerBlock).
     */
    public static long backwardWorkspaceFloats(int tokens, int channels, int rowsPerBlock) {
        checkChannels(channels);
        return 2L * backwardGrid(tokens, rowsPerBlock) * channels;
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
