package dev.mambaout.kernels;

/**
 * Launch geometry of gated_dwconv_forward_{f32,bf16}, mirroring the work items of gated_dwconv.cu: conv items (an
 * output tile of at most 8 x 8 pixels of one image for 32 conv channels) then pointwise items (1024 units of the i
 * columns, a unit being 16 bytes of channels on the vector path, one channel otherwise). One block per item; the
 * kernel is grid-stride, so a smaller grid stays correct. Also the tap-major repacking of PyTorch's depthwise weight.
 */
public final class GatedDwConvKernels {

    /** Threads per block: 8 warps, one per tile column. */
    public static final int BLOCK = 256;
    /** Conv channels of one conv item, one per lane. */
    public static final int CHUNK = 32;
    /** Longest tile edge (rows and columns). */
    public static final int TILE_MAX = 8;
    /** Units of the i columns one pointwise item handles: 256 threads x 4. */
    public static final int POINTWISE_UNITS = BLOCK * 4;

    private GatedDwConvKernels() {}

    /** The grid for these sizes, assuming 16-byte aligned x and out (what the arena gives; see {@link #unitChannels}). */
    public static LaunchGeometry geometry(int n, int h, int w, int hidden, int convChannels, int elementBytes) {
        checkSizes(n, h, w, hidden, convChannels);
        long items = convItems(n, h, w, convChannels) + pointwiseItems(n, h, w, hidden, convChannels, elementBytes);
        return LaunchGeometry.linear(Math.toIntExact(Math.min(items, Integer.MAX_VALUE)), BLOCK);
    }

    /**
     * Tile edge for an image extent, as gd_tile: as few tiles of at most {@link #TILE_MAX} as possible, of equal
     * length (56 -> 8, 28 -> 7, 14 -> 7, 7 -> 7, 13 -> 7, 3 -> 3).
     */
    public static int tile(int extent) {
        if (extent <= 0) throw new IllegalArgumentException("image extent must be positive, was " + extent);
        return ceilDiv(extent, ceilDiv(extent, TILE_MAX));
    }

    public static long convItems(int n, int h, int w, int convChannels) {
        return (long) n * ceilDiv(h, tile(h)) * ceilDiv(w, tile(w)) * ceilDiv(convChannels, CHUNK);
    }

    public static long pointwiseItems(int n, int h, int w, int hidden, int convChannels, int elementBytes) {
        long units = (long) n * h * w * ((hidden - convChannels) / unitChannels(hidden, convChannels, elementBytes));
        return (units + POINTWISE_UNITS - 1) / POINTWISE_UNITS;
    }

    /**
     * Channels per load unit: 16 bytes' worth (4 f32, 8 bf16) when hidden and conv channels are multiples of it,
     * else 1. The kernel also takes 1 when x or out is not 16-byte aligned; the geometry then has too few pointwise
     * blocks, which the grid-stride loop covers.
     */
    public static int unitChannels(int hidden, int convChannels, int elementBytes) {
        if (elementBytes != 2 && elementBytes != 4) {
            throw new IllegalArgumentException("element size must be 2 (bf16) or 4 (f32) bytes, was " + elementBytes);
        }
        int u = 16 / elementBytes;
        return hidden % u == 0 && convChannels % u == 0 ? u : 1;
    }

    /**
     * PyTorch's depthwise weight [C, 1, k, k] repacked tap-major [k*k, C], the kernel's layout: a warp's 32 lanes
     * (consecutive channels) then read one tap's weights in one coalesced load.
     */
    public static float[] packTapMajor(float[] torchWeight, int channels, int kernelSize) {
        if (channels <= 0 || kernelSize <= 0) {
            throw new IllegalArgumentException("channels and kernel size must be positive, were " + channels + ", "
                    + kernelSize);
        }
        int taps = kernelSize * kernelSize;
        if (torchWeight.length != channels * taps) {
            throw new IllegalArgumentException("depthwise weight [" + channels + ",1," + kernelSize + "," + kernelSize
                    + "] needs " + channels * taps + " values, got " + torchWeight.length);
        }
        float[] packed = new float[torchWeight.length];
        for (int ch = 0; ch < channels; ch++) {
            for (int tap = 0; tap < taps; tap++) packed[tap * channels + ch] = torchWeight[ch * taps + tap];
        }
        return packed;
    }

    private static void checkSizes(int n, int h, int w, int hidden, int convChannels) {
        if (n <= 0 || h <= 0 || w <= 0) {
            throw new IllegalArgumentException("N, H, W must be positive, were " + n + ", " + h + ", " + w);
        }
        if (convChannels < 1 || convChannels > hidden) {
            throw new IllegalArgumentException("conv channels must be in [1, hidden = " + hidden + "], was "
                    + convChannels);
        }
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
