package dev.mambaout.kernels;

/**
 * Geometry of the LayerScale family (layerscale.cu) and its reference on the host: x [tokens, C] in f32 or bf16,
 * shortcut / out / dy / gamma / dgamma f32. The forward is grid-stride over 4-channel units (C % 4 == 0) or single
 * channels; the backward's grid is its number of partial rows, a contiguous range of tokens per block, so it and the
 * workspace follow from (tokens, C) alone; the finalize sums the partial rows, a block per 32 channels.
 */
public final class LayerScaleKernels {

    /** Threads per block of all three kernels. */
    public static final int BLOCK = 256;
    /** Channels of one vector unit (the kernels fall back to one when C % 4 != 0 or a pointer is misaligned). */
    public static final int UNIT = 4;
    /** Forward grid cap: the kernel's unsigned index plus its stride must stay below 2^32; grid-stride does the rest. */
    public static final int MAX_GRID = 1 << 20;
    /**
     * Backward blocks at most: one wave on an H200 (132 SMs x 4 resident blocks of 256 threads at the kernel's 64
     * registers); each block owns a contiguous range of tokens, so a second, partial wave would only idle SMs.
     */
    public static final int BACKWARD_MAX_BLOCKS = 528;
    /**
     * Tokens a backward block takes at least: a partial row costs C floats written and read again, so 16 rows or more
     * keep that traffic within about 6% of the 8 (bf16) or 12 (f32) bytes per element the kernel must move.
     */
    public static final int BACKWARD_MIN_ROWS = 16;
    /** Channels one finalize block sums (a lane each). */
    public static final int FINALIZE_CHANNELS_PER_BLOCK = 32;

    private LayerScaleKernels() {}

    /** Grid of layerscale_residual_forward_{f32,bf16}: a thread per unit, capped at {@link #MAX_GRID} blocks. */
    public static LaunchGeometry forward(int tokens, int channels) {
        long units = elements(tokens, channels) / (channels % UNIT == 0 ? UNIT : 1);
        return LaunchGeometry.linear((int) Math.min(MAX_GRID, (units + BLOCK - 1) / BLOCK), BLOCK);
    }

    /**
     * Blocks of layerscale_backward_{f32,bf16} = partial rows = the finalize's {@code blocks}: ceil(tokens /
     * {@link #BACKWARD_MIN_ROWS}) up to {@link #BACKWARD_MAX_BLOCKS}.
     */
    public static int backwardBlocks(int tokens, int channels) {
        elements(tokens, channels);
        return (int) Math.min(BACKWARD_MAX_BLOCKS, ((long) tokens + BACKWARD_MIN_ROWS - 1) / BACKWARD_MIN_ROWS);
    }

    public static LaunchGeometry backward(int tokens, int channels) {
        return LaunchGeometry.linear(backwardBlocks(tokens, channels), BLOCK);
    }

    /** F32 elements of the backward's workspace: partial [{@link #backwardBlocks}, C]. */
    public static long backwardWorkspaceFloats(int tokens, int channels) {
        return (long) backwardBlocks(tokens, channels) * channels;
    }

    /** Grid of layerscale_backward_finalize: a block per 32 channels. */
    public static LaunchGeometry finalizeGeometry(int channels) {
        if (channels <= 0) throw new IllegalArgumentException("channels must be positive, was " + channels);
        return LaunchGeometry.linear((channels + FINALIZE_CHANNELS_PER_BLOCK - 1) / FINALIZE_CHANNELS_PER_BLOCK, BLOCK);
    }

    /** out = shortcut + gamma[c] * x over [tokens, C], in double. */
    public static double[] forwardReference(float[] shortcut, float[] x, float[] gamma, int tokens, int channels) {
        int n = checkReference(x, gamma, tokens, channels);
        if (shortcut.length != n) throw new IllegalArgumentException("shortcut has " + shortcut.length + " values, not " + n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = shortcut[i] + (double) gamma[i % channels] * x[i];
        return out;
    }

    /** The backward's results: dx [tokens, C] and dGamma [C]. */
    public record Grads(double[] dx, double[] dGamma) {}

    /** dx = gamma[c] * dy and dGamma[c] = sum over tokens of dy * x, in double. */
    public static Grads backwardReference(float[] dy, float[] x, float[] gamma, int tokens, int channels) {
        int n = checkReference(x, gamma, tokens, channels);
        if (dy.length != n) throw new IllegalArgumentException("dy has " + dy.length + " values, not " + n);
        double[] dx = new double[n], dGamma = new double[channels];
        for (int i = 0; i < n; i++) {
            int c = i % channels;
            dx[i] = (double) gamma[c] * dy[i];
            dGamma[c] += (double) dy[i] * x[i];
        }
        return new Grads(dx, dGamma);
    }

    private static int checkReference(float[] x, float[] gamma, int tokens, int channels) {
        int n = (int) elements(tokens, channels);
        if (x.length != n) throw new IllegalArgumentException("x has " + x.length + " values, not " + n);
        if (gamma.length != channels) throw new IllegalArgumentException("gamma has " + gamma.length + " values, not " + channels);
        return n;
    }

    /** tokens * C, which the kernels' 32-bit indices need below 2^31. */
    private static long elements(int tokens, int channels) {
        if (tokens <= 0 || channels <= 0) {
            throw new IllegalArgumentException("tokens and channels must be positive, were " + tokens + ", " + channels);
        }
        long n = (long) tokens * channels;
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tokens x channels = " + n + " exceeds the kernels' 32-bit indices (2^31 - 1)");
        }
        return n;
    }
}
