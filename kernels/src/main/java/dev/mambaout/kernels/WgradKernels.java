package dev.mambaout.kernels;

/**
 * Geometry of wgrad.cu (dW = dY^T X, db = the column sums of dY, for layers at most {@link #MAX_WIDTH} wide on both
 * sides): a fixed number of rows per block, so the partial sums and their order depend on the shape alone (the same
 * bits on every GPU), then one reduce.
 */
public final class WgradKernels {

    public static final int BLOCK = 256;
    /** M and N at most: a thread's 4 x 4 tile of dW, 256 threads, and the chunks' shared memory are sized for it. */
    public static final int MAX_WIDTH = 64;
    /** Rows a block sums: femto's stem at batch 128 (1.6M rows) gets 392 blocks, ~3 per SM of an H200. */
    public static final int ROWS_PER_BLOCK = 4096;

    private WgradKernels() {}

    /** Whether a dY [rows, m] / X [rows, n] weight gradient takes these kernels (else the GEMM). */
    public static boolean supports(int m, int n) {
        return m >= 1 && n >= 1 && m <= MAX_WIDTH && n <= MAX_WIDTH;
    }

    public static int blocks(long rows) {
        if (rows <= 0) throw new IllegalArgumentException("rows must be positive, was " + rows);
        return Math.toIntExact((rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK);
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
