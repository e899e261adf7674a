package dev.mambaout.kernels;

/**
 * Geometry of cross_entropy_{f32,bf16} and cross_entropy_mean (cross_entropy.cu). Blocks of 256 threads (8 warps);
 * a row of the logits gets {@link #rowWarps(int)} warps, so each lane walks about 8 or fewer logits per pass:
 * one warp per row up to 256 classes (Fashion-MNIST's 10), 4 for ImageNet's 1000, 8 (a block) from 1793 on. The
 * mean is one block whatever N, so its summation order (and result bits) depend on N only.
 */
public final class CrossEntropyKernels {

    public static final int BLOCK = 256;
    public static final int WARPS = BLOCK / 32;
    /** Threads of the single cross_entropy_mean block. */
    public static final int MEAN_BLOCK = 256;
    /** A row's warps are added until each lane has at most this many logits per pass (or the block is reached). */
    public static final int LOGITS_PER_LANE = 8;

    private CrossEntropyKernels() {}

    /** Warps per row: the smallest of 1, 2, 4, 8 that leaves at most 8 logits per lane, else 8. */
    public static int rowWarps(int classes) {
        if (classes <= 0) throw new IllegalArgumentException("classes must be positive, was " + classes);
        int w = 1;
        while (w < WARPS && (long) w * 32 * LOGITS_PER_LANE < classes) w *= 2;
        return w;
    }

    /** cross_entropy_*: ceil(N / rows per block) blocks of 256; rows per block = 8 / rowWarps(classes). */
    public static LaunchGeometry rows(int n, int classes) {
        if (n <= 0) throw new IllegalArgumentException("N must be positive, was " + n);
        int rowsPerBlock = WARPS / rowWarps(classes);
        return LaunchGeometry.linear((int) (((long) n + rowsPerBlock - 1) / rowsPerBlock), BLOCK);
    }

    /** cross_entropy_mean: one block. */
    public static LaunchGeometry mean() { return LaunchGeometry.linear(1, MEAN_BLOCK); }
}
