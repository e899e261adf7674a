package dev.mambaout.kernels;

/**
 * Launch geometry of the gated_dwconv forward kernels, mirroring the work of gated_dwconv.cu: conv blocks, then
 * pointwise blocks (1024 units of the i columns, a unit being 16 bytes of channels on the vector path, one channel
 * otherwise). Two kernels ({@link Variant}):
 * <ul>
 *   <li>{@code RINGS} ({@code gated_dwconv_forward_rings_<type>_c<C>}, k = 7 with 16-byte units and aligned x, out):
 *   a block is 8 warp units, a unit being (image, strip, band of {@link #ringBand} columns, chunk of
 *   {@link #ringLaneChannels} conv channels); each lane owns C = 1 or 4 columns of one channel
 *   ({@link #ringColumns}); every warp streams its rows through its own ring in dynamic shared memory
 *   ({@link #ringSharedBytes}). One pointwise item per block after the conv blocks.</li>
 *   <li>{@code COLUMN} ({@code gated_dwconv_forward_<type>}, every other shape): a block is 256 consecutive (image,
 *   strip, column, channel) threads; its pointwise blocks are grid-stride, so a misaligned x or out (one channel
 *   per unit) is covered too.</li>
 * </ul>
 * The grid must cover every conv block (the kernels are not grid-stride there: the k = 7 body needs its 49 weights
 * in registers). Also the strip height and the tap-major repacking of PyTorch's depthwise weight.
 */
public final class GatedDwConvKernels {

    /** Threads per block. */
    public static final int BLOCK = 256;
    /** Warps of a block. */
    public static final int WARPS = BLOCK / 32;
    /** The kernel size of the rings kernels (MambaOut's); other sizes take the column kernel. */
    public static final int RING_K = 7;
    /** Ring rows per warp (gated_dwconv_rings.cuh's GDR_STAGES). */
    public static final int RING_STAGES = 6;
    /** Output columns per lane of the rings kernels at large batches (the other choice is 1). */
    public static final int RING_WIDE_COLUMNS = 4;
    /** Resident rings blocks per SM (__launch_bounds__(256, 2)): the wide layout must fill this many per SM. */
    public static final int BLOCKS_PER_SM = 2;
    /** Units of the i columns one pointwise item handles: 256 threads x 4. */
    public static final int POINTWISE_UNITS = BLOCK * 4;
    /**
     * Columns (image x column x channel) below which the rows are split into strips, so that small batches still
     * fill the card: 2^18 threads, about four waves of an H200's 132 SMs x 2 resident blocks of 256.
     */
    public static final long STRIP_TARGET = 1L << 18;

    /** Which forward kernel a shape takes. */
    public enum Variant { RINGS, COLUMN }

    /**
     * One forward launch as the launcher makes it: the kernel, its strip height, the columns per lane (1 for the
     * column kernel) and the grid with its dynamic shared memory.
     */
    public record ForwardPlan(Variant variant, int stripRows, int columns, LaunchGeometry geometry) {}

    private GatedDwConvKernels() {}

    /**
     * The forward launch for these sizes; {@code aligned}: x and out both 16-byte aligned (the arena's tensors are).
     */
    public static ForwardPlan forward(int n, int h, int w, int hidden, int convChannels, int kernelSize,
                                      int elementBytes, boolean aligned, int smCount) {
        checkSizes(n, h, w, hidden, convChannels);
        if (smCount <= 0) throw new IllegalArgumentException("smCount must be positive, was " + smCount);
        int rows = stripRows(n, h, w, convChannels);
        if (rings(hidden, convChannels, kernelSize, elementBytes, aligned)) {
            int columns = ringColumns(n, h, w, convChannels, elementBytes, rows, smCount);
            return new ForwardPlan(Variant.RINGS, rows, columns,
                    ringGeometry(n, h, w, hidden, convChannels, elementBytes, rows, columns));
        }
        long blocks = columnBlocks(n, h, w, convChannels, rows)
                + pointwiseItems(n, h, w, hidden, convChannels, elementBytes);
        return new ForwardPlan(Variant.COLUMN, rows, 1, LaunchGeometry.linear(gridBlocks(blocks), BLOCK));
    }

    /** Whether these sizes take the rings kernels: k = 7, 16-byte units, x and out 16-byte aligned. */
    public static boolean rings(int hidden, int convChannels, int kernelSize, int elementBytes, boolean aligned) {
        return aligned && kernelSize == RING_K && unitChannels(hidden, convChannels, elementBytes) > 1;
    }

    /**
     * Output rows per strip: the whole height when the batch has at least {@link #STRIP_TARGET} (image, column,
     * channel) columns, else strips of at least 4 rows (fewer rows per strip waste more of the k - 1 rows of
     * lead-in), enough of them to approach the target.
     */
    public static int stripRows(int n, int h, int w, int convChannels) {
        long columns = (long) n * w * convChannels;
        if (columns >= STRIP_TARGET) return h;
        long strips = Math.min((STRIP_TARGET + columns - 1) / columns, (h + 3) / 4);
        return (int) ((h + strips - 1) / strips);
    }

    /**
     * Conv channels of one rings warp: 32 f32 (a lane each), 16 bf16 (one 32-byte sector per pixel; the warp's lanes
     * are then 2 groups of 16 along the band).
     */
    public static int ringLaneChannels(int elementBytes) {
        checkElementBytes(elementBytes);
        return elementBytes == 4 ? 32 : 16;
    }

    /** Output columns of one rings warp's band: (32 / lane channels) groups x columns per lane. */
    public static int ringBand(int elementBytes, int columns) {
        checkColumns(columns);
        return 32 / ringLaneChannels(elementBytes) * columns;
    }

    /** Warp units of the rings kernel: images x strips x bands x channel chunks. */
    public static long ringUnits(int n, int h, int w, int convChannels, int elementBytes, int stripRows, int columns) {
        return (long) n * ceilDiv(h, stripRows) * ceilDiv(w, ringBand(elementBytes, columns))
                * ceilDiv(convChannels, ringLaneChannels(elementBytes));
    }

    public static long ringConvBlocks(int n, int h, int w, int convChannels, int elementBytes, int stripRows,
                                      int columns) {
        return (ringUnits(n, h, w, convChannels, elementBytes, stripRows, columns) + WARPS - 1) / WARPS;
    }

    /**
     * Dynamic shared memory of a rings block: 8 warps x {@link #RING_STAGES} rows x (input row of band + k - 1
     * pixels, then the g row of band pixels) x lane channels. f32 at 4 columns needs 84 KB, past the 48 KB a launch
     * gets without opting in.
     */
    public static int ringSharedBytes(int elementBytes, int columns) {
        int band = ringBand(elementBytes, columns);
        return WARPS * RING_STAGES * (2 * band + RING_K - 1) * ringLaneChannels(elementBytes) * elementBytes;
    }

    /**
     * Columns per lane of the rings kernel: {@link #RING_WIDE_COLUMNS} when those blocks fill a wave of
     * {@link #BLOCKS_PER_SM} per SM, else 1 (small batches: 4x the blocks, each a quarter as long, on a card the
     * wide layout would leave partly idle; lab round 7: batch 1 was up to 1.4x slower at 4 columns).
     */
    public static int ringColumns(int n, int h, int w, int convChannels, int elementBytes, int stripRows, int smCount) {
        long wide = ringConvBlocks(n, h, w, convChannels, elementBytes, stripRows, RING_WIDE_COLUMNS);
        return wide >= (long) BLOCKS_PER_SM * smCount ? RING_WIDE_COLUMNS : 1;
    }

    /** Grid of the rings kernel: its conv blocks, then exactly one block per pointwise item. */
    public static LaunchGeometry ringGeometry(int n, int h, int w, int hidden, int convChannels, int elementBytes,
                                              int stripRows, int columns) {
        checkSizes(n, h, w, hidden, convChannels);
        if (unitChannels(hidden, convChannels, elementBytes) == 1) {
            throw new IllegalArgumentException("the rings kernel needs hidden and conv channels in 16-byte units, were "
                    + hidden + ", " + convChannels);
        }
        long blocks = ringConvBlocks(n, h, w, convChannels, elementBytes, stripRows, columns)
                + pointwiseItems(n, h, w, hidden, convChannels, elementBytes);
        return new LaunchGeometry(gridBlocks(blocks), 1, 1, BLOCK, 1, 1, ringSharedBytes(elementBytes, columns));
    }

    /** Blocks of the column path: 256 consecutive (image, strip, column, channel) threads each. */
    public static long columnBlocks(int n, int h, int w, int convChannels, int stripRows) {
        return ((long) n * ceilDiv(h, stripRows) * w * convChannels + BLOCK - 1) / BLOCK;
    }

    public static long pointwiseItems(int n, int h, int w, int hidden, int convChannels, int elementBytes) {
        long units = (long) n * h * w * ((hidden - convChannels) / unitChannels(hidden, convChannels, elementBytes));
        return (units + POINTWISE_UNITS - 1) / POINTWISE_UNITS;
    }

    /**
     * Channels per load unit: 16 bytes' worth (4 f32, 8 bf16) when hidden and conv channels are multiples of it,
     * else 1. The kernel also takes 1 when x or out is not 16-byte aligned.
     */
    public static int unitChannels(int hidden, int convChannels, int elementBytes) {
        checkElementBytes(elementBytes);
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

    // ---- backward (gated_dwconv_backward_{f32,bf16} + gated_dwconv_backward_reduce) --------------------------------

    /** The largest (odd) kernel size the backward supports: k = 1, 3, 5, 7 (warps 0..k-1 own dweight's tap rows). */
    public static final int BACKWARD_MAX_K = 7;
    /**
     * Conv blocks the backward aims for: 528 = 132 SMs x 2 resident blocks x 2 waves. Each conv block grid-strides
     * over work units (image, strip, 8-column band) of its 32-channel chunk and writes one partial row set, so this
     * also bounds the workspace; the pointwise blocks after them fill the tail.
     */
    public static final int BACKWARD_TARGET_CONV_BLOCKS = 528;
    /** Columns of one backward conv work unit: a warp each. */
    public static final int BACKWARD_BAND = 8;
    /** Conv channels of one backward conv block: a lane each. */
    public static final int BACKWARD_CHUNK = 32;
    /** The fewest output rows of a backward strip (a strip re-reads k - 1 halo rows). */
    public static final int BACKWARD_MIN_STRIP_ROWS = 8;

    /**
     * Output rows per strip of the backward: the whole height when (image, band, chunk) units alone reach
     * {@link #BACKWARD_TARGET_CONV_BLOCKS}, else strips of at least {@link #BACKWARD_MIN_STRIP_ROWS} rows, enough of
     * them to approach it.
     */
    public static int backwardStripRows(int n, int h, int w, int convChannels) {
        long base = (long) n * ceilDiv(w, BACKWARD_BAND) * ceilDiv(convChannels, BACKWARD_CHUNK);
        if (base >= BACKWARD_TARGET_CONV_BLOCKS) return h;
        long strips = Math.max(1, Math.min((BACKWARD_TARGET_CONV_BLOCKS + base - 1) / base,
                (long) h / BACKWARD_MIN_STRIP_ROWS));
        return (int) ((h + strips - 1) / strips);
    }

    /** Work units of one 32-channel chunk: images x strips x 8-column bands. */
    public static long backwardUnits(int n, int h, int w, int convChannels) {
        return (long) n * ceilDiv(h, backwardStripRows(n, h, w, convChannels)) * ceilDiv(w, BACKWARD_BAND);
    }

    /**
     * Conv blocks per 32-channel chunk (the kernel's {@code splits}): block s of a chunk takes units s, s + splits,
     * ...; also the number of partials the reduce sums.
     */
    public static int backwardSplits(int n, int h, int w, int convChannels) {
        checkSizes(n, h, w, convChannels, convChannels);
        long units = backwardUnits(n, h, w, convChannels);
        long want = ceilDiv(BACKWARD_TARGET_CONV_BLOCKS, ceilDiv(convChannels, BACKWARD_CHUNK));
        return (int) Math.max(1, Math.min(units, want));
    }

    public static long backwardConvBlocks(int n, int h, int w, int convChannels) {
        return (long) ceilDiv(convChannels, BACKWARD_CHUNK) * backwardSplits(n, h, w, convChannels);
    }

    /** Grid of gated_dwconv_backward_{f32,bf16}: conv blocks, then pointwise items as the forward counts them. */
    public static LaunchGeometry backwardGeometry(int n, int h, int w, int hidden, int convChannels, int kernelSize,
                                                  int elementBytes) {
        checkSizes(n, h, w, hidden, convChannels);
        checkBackwardKernel(kernelSize);
        long blocks = backwardConvBlocks(n, h, w, convChannels)
                + pointwiseItems(n, h, w, hidden, convChannels, elementBytes);
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("gated dwconv backward grid of " + blocks + " blocks is too large");
        }
        return LaunchGeometry.linear((int) blocks, BLOCK);
    }

    /** F32 elements of the backward's workspace: partial [splits, k*k + 1, conv] (dweight's taps, then dbias). */
    public static long backwardWorkspaceFloats(int n, int h, int w, int convChannels, int kernelSize) {
        checkBackwardKernel(kernelSize);
        return (long) backwardSplits(n, h, w, convChannels) * (kernelSize * kernelSize + 1) * convChannels;
    }

    /** Grid of gated_dwconv_backward_reduce: a block per 32 of the (k*k + 1) * conv outputs. */
    public static LaunchGeometry backwardReduceGeometry(int convChannels, int kernelSize) {
        checkBackwardKernel(kernelSize);
        if (convChannels < 1) throw new IllegalArgumentException("conv channels must be positive, was " + convChannels);
        long outputs = (long) (kernelSize * kernelSize + 1) * convChannels;
        return LaunchGeometry.linear((int) ((outputs + BACKWARD_CHUNK - 1) / BACKWARD_CHUNK), BLOCK);
    }

    private static void checkBackwardKernel(int kernelSize) {
        if (kernelSize < 1 || kernelSize % 2 == 0 || kernelSize > BACKWARD_MAX_K) {
            throw new IllegalArgumentException("the gated dwconv backward takes kernel size 1, 3, 5 or 7, was "
                    + kernelSize);
        }
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

    private static void checkElementBytes(int elementBytes) {
        if (elementBytes != 2 && elementBytes != 4) {
            throw new IllegalArgumentException("element size must be 2 (bf16) or 4 (f32) bytes, was " + elementBytes);
        }
    }

    private static void checkColumns(int columns) {
        if (columns != 1 && columns != RING_WIDE_COLUMNS) {
            throw new IllegalArgumentException("columns per lane must be 1 or " + RING_WIDE_COLUMNS + ", was " + columns);
        }
    }

    private static int gridBlocks(long blocks) {
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("gated dwconv grid of " + blocks + " blocks is too large");
        return (int) blocks;
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
