package dev.mambaout.kernels;

/**
 * Geometry of wgrad.cu (dW = dY^T X, db = the column sums of dY, for layers at most {@link #MAX_WIDTH} wide on both
 * sides): rows per block from the row count alone, so the partial sums and their order depend on the shape alone
 * (the same bits on every GPU), then one reduce.
 */
public final class WgradKernels {

    public static final int BLOCK = 256;
    /** M and N at most: a thread's 4 x 4 tile of dW, 256 threads, and the chunks' shared memory are sized for it. */
    public static final int MAX_WIDTH = 64;
    /** The most rows a block sums: femto's stem at batch 128 (1.6M rows) gets 392 blocks, ~3 per SM of an H200. */
    public static final int MAX_ROWS_PER_BLOCK = 4096;
    /** The fewest: 4 chunks of 64 rows. */
    public static final int MIN_ROWS_PER_BLOCK = 256;
    /** Blocks aimed for below the cap (2 per SM of a 132-SM card), fixed so the partials depend on the shape alone. */
    public static final int TARGET_BLOCKS = 264;

    private WgradKernels() {}

    /** Whether a dY [rows, m] / X [rows, n] weight gradient takes these kernels (else the GEMM). */
    public static boolean supports(int m, int n) {
        return m >= 1 && n >= 1 && m <= MAX_WIDTH && n <= MAX_WIDTH;
    }

    /**
     * Rows per block: rows / TARGET_BLOCKS rounded up to a whole chunk of 64, within [MIN, MAX]. Fashion-MNIST's stem
     * at batch 256 (65,536 rows) gets 256 blocks of 256 rows instead of 16 blocks of 4096 (7x slower in the lab).
     */
    public static int rowsPerBlock(long rows) {
        if (rows <= 0) throw new IllegalArgumentException("rows must be positive, was " + rows);
        long want = (rows + TARGET_BLOCKS - 1) / TARGET_BLOCKS;
        want = (want + 63) / 64 * 64;
        return (int) Math.max(MIN_ROWS_PER_BLOCK, Math.min(MAX_ROWS_PER_BLOCK, want));
    }

    public static int blocks(long rows) {
        int per = rowsPerBlock(rows);
        return Math.toIntExact((rows + per - 1) / per);
    }

    /** F32 elements of the workspace: partial [blocks, m*n + m]. */
    public static long workspaceFloats(long rows, int m, int n) {
        return (long) blocks(rows) * (m * n + m);
    }

    public static LaunchGeometry partialGeometry(long rows) {
        return LaunchGeometry.linear(blocks(rows), BLOCK);
    }

    public static LaunchGeometry reduceGeometry(int m, int n) {
        return LaunchGeometry.linear((m * n + m + BLOCK - 1) / BLOCK, BLOCK);
    }
}
