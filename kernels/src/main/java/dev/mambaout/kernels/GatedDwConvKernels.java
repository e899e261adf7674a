package dev.mambaout.kernels;

/**
 * Launch geometry of gated_dwconv_forward_{f32,bf16}, mirroring the work of gated_dwconv.cu: conv blocks, then
 * pointwise blocks (1024 units of the i columns, a unit being 16 bytes of channels on the vector path, one channel
 * otherwise). On the vector path with k = 7 a conv block is a band of columns x a chunk of conv channels of one
 * image strip ("staged"): its 8 warps lie 8 / cw along the band and cw along the channels, each lane owning 1 or
 * {@link #COLUMNS} columns of one channel ({@link #stagedLayout}), so a band is 8 / cw x columns and a chunk 32 x cw
 * channels; otherwise a block is 256 consecutive (image, strip, column, channel) threads. The grid must
 * cover every conv block (the kernel is not grid-stride there: its k = 7 path needs all 128 registers); pointwise
 * blocks are grid-stride. Also the strip height and the tap-major repacking of PyTorch's depthwise weight.
 */
public final class GatedDwConvKernels {

    /** Threads per block. */
    public static final int BLOCK = 256;
    /** Warps of a block. */
    public static final int WARPS = BLOCK / 32;
    /** Output columns one lane of a staged conv block computes in the wide layout (gated_dwconv.cu's GD_COLS). */
    public static final int COLUMNS = 2;
    /** Resident staged blocks per SM (128 registers x 256 threads): the wide layout must fill this many per SM. */
    public static final int BLOCKS_PER_SM = 2;

    /**
     * How a staged block lays out its 8 warps: {@code chunkWarps} (1 or 2) across the channels, the rest along the
     * band; each lane computing {@code columns} (1 or {@link #COLUMNS}) output columns of one channel.
     */
    public record StagedLayout(int chunkWarps, int columns) {
        public StagedLayout {
            if (chunkWarps != 1 && chunkWarps != 2) {
                throw new IllegalArgumentException("chunkWarps must be 1 or 2, was " + chunkWarps);
            }
            if (columns != 1 && columns != COLUMNS) {
                throw new IllegalArgumentException("columns must be 1 or " + COLUMNS + ", was " + columns);
            }
        }

        /** Output columns of one block's band. */
        public int bandColumns() { return WARPS / chunkWarps * columns; }

        /** Conv channels of one block's chunk. */
        public int chunkChannels() { return 32 * chunkWarps; }

        long blocksPerStrip(int w, int convChannels) {
            return (long) ceilDiv(w, bandColumns()) * ceilDiv(convChannels, chunkChannels());
        }
    }

    /** The kernel size of the staged path (MambaOut's); other sizes take the column path. */
    public static final int STAGED_K = 7;
    /** Units of the i columns one pointwise item handles: 256 threads x 4. */
    public static final int POINTWISE_UNITS = BLOCK * 4;
    /**
     * Columns (image x column x channel) below which the rows are split into strips, so that small batches still
     * fill the card: 2^18 threads, about four waves of an H200's 132 SMs x 2 resident blocks of 256.
     */
    public static final long STRIP_TARGET = 1L << 18;

    private GatedDwConvKernels() {}

    /**
     * The grid for these sizes, assuming 16-byte aligned x and out (what the arena gives); with misaligned
     * pointers the kernel needs fewer conv blocks and more pointwise ones, which its grid-stride pointwise loop
     * takes from the spare blocks.
     */
    public static LaunchGeometry geometry(int n, int h, int w, int hidden, int convChannels, int kernelSize,
                                          int elementBytes, int smCount) {
        checkSizes(n, h, w, hidden, convChannels);
        int rows = stripRows(n, h, w, convChannels);
        return geometry(n, h, w, hidden, convChannels, kernelSize, elementBytes, rows,
                stagedLayout(n, h, w, convChannels, rows, smCount));
    }

    /** The grid for a strip height and staged layout already chosen ({@link #stripRows}, {@link #stagedLayout}). */
    public static LaunchGeometry geometry(int n, int h, int w, int hidden, int convChannels, int kernelSize,
                                          int elementBytes, int rows, StagedLayout layout) {
        checkSizes(n, h, w, hidden, convChannels);
        // The conv part must be covered for the path the kernel takes, which with a misaligned x or out is the
        // column path even where the sizes allow the staged one: hence the larger of the two counts (spare blocks
        // join the grid-stride pointwise loop).
        long conv = convBlocks(n, h, w, hidden, convChannels, kernelSize, elementBytes, rows, layout);
        long column = columnBlocks(n, h, w, convChannels, rows);
        long blocks = Math.max(conv, column) + pointwiseItems(n, h, w, hidden, convChannels, elementBytes);
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("gated dwconv grid of " + blocks + " blocks is too large");
        return LaunchGeometry.linear((int) blocks, BLOCK);
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

    /** Whether the kernel takes the staged path for these sizes (with 16-byte aligned pointers). */
    public static boolean staged(int hidden, int convChannels, int kernelSize, int elementBytes) {
        return unitChannels(hidden, convChannels, elementBytes) > 1 && kernelSize == STAGED_K;
    }

    /**
     * The staged layout for these sizes: {@link #COLUMNS} columns per lane when the batch gives at least a full
     * wave of such blocks ({@link #BLOCKS_PER_SM} per SM), else 1 (small batches: twice the blocks, each half as
     * long, on a card the wide layout would leave partly idle); then {@link #chunkWarps} for that width.
     */
    public static StagedLayout stagedLayout(int n, int h, int w, int convChannels, int stripRows, int smCount) {
        if (smCount <= 0) throw new IllegalArgumentException("smCount must be positive, was " + smCount);
        long strips = (long) n * ceilDiv(h, stripRows);
        StagedLayout wide = new StagedLayout(chunkWarps(w, convChannels, COLUMNS), COLUMNS);
        if (strips * wide.blocksPerStrip(w, convChannels) >= (long) BLOCKS_PER_SM * smCount) return wide;
        return new StagedLayout(chunkWarps(w, convChannels, 1), 1);
    }

    /**
     * Warps of a staged conv block across the channels (1 or 2; the rest lie along the band) for lanes of
     * {@code columns} columns: the layout with the fewest blocks per (image, strip), i.e. the fewest idle lanes, the
     * narrower band on ties losing. Narrow images (7 columns) want short bands and wide chunks, wide ones long bands.
     */
    public static int chunkWarps(int w, int convChannels, int columns) {
        StagedLayout one = new StagedLayout(1, columns), two = new StagedLayout(2, columns);
        return two.blocksPerStrip(w, convChannels) < one.blocksPerStrip(w, convChannels) ? 2 : 1;
    }

    public static long convBlocks(int n, int h, int w, int hidden, int convChannels, int kernelSize,
                                  int elementBytes, int stripRows, StagedLayout layout) {
        long strips = ceilDiv(h, stripRows);
        if (staged(hidden, convChannels, kernelSize, elementBytes)) {
            return n * strips * layout.blocksPerStrip(w, convChannels);
        }
        return columnBlocks(n, h, w, convChannels, stripRows);
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

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
