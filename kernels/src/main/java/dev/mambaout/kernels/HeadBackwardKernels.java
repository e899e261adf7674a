package dev.mambaout.kernels;

/**
 * Geometry of mean_hw_backward (head.cu): grid (gx, N), block 256. A unit is 16 bytes of a dx row when C is a
 * multiple of the vector (4 f32, 8 bf16) and dx is 16-byte aligned, else one element; the kernel decides the same way
 * from the pointer it is given (and is correct for any grid, so a rebound misaligned pointer only runs slower). gx
 * gives each thread about {@link #ROWS_PER_THREAD} of the HW rows of its unit, so the dy loads and the division by HW
 * are paid once per 4 stores.
 */
public final class HeadBackwardKernels {

    public static final int BLOCK = 256;
    public static final int ROWS_PER_THREAD = 4;
    /** CUDA's limit on gridDim.y, which holds N. */
    public static final int MAX_N = 65_535;

    private HeadBackwardKernels() {}

    /** Units per dx row: C / (16 / elementBytes) on the vector path, else C. */
    public static int units(int channels, int elementBytes, boolean aligned16) {
        int v = 16 / elementBytes;
        return aligned16 && channels % v == 0 ? channels / v : channels;
    }

    /** dx [N, HW, C] of elementBytes each (4 or 2); aligned16: whether dx's address is a multiple of 16. */
    public static LaunchGeometry geometry(int n, int hw, int channels, int elementBytes, boolean aligned16) {
        if (n <= 0 || hw <= 0 || channels <= 0) {
            throw new IllegalArgumentException("N, HW and C must be positive, were " + n + ", " + hw + ", " + channels);
        }
        if (n > MAX_N) throw new IllegalArgumentException("N = " + n + " exceeds gridDim.y's " + MAX_N + " (split the batch)");
        if (elementBytes != 4 && elementBytes != 2) {
            throw new IllegalArgumentException("dx elements must be 4 or 2 bytes, were " + elementBytes);
        }
        long threads = (long) ((hw + ROWS_PER_THREAD - 1) / ROWS_PER_THREAD) * units(channels, elementBytes, aligned16);
        int gx = (int) Math.min(Integer.MAX_VALUE, (threads + BLOCK - 1) / BLOCK);
        return new LaunchGeometry(gx, n, 1, BLOCK, 1, 1, 0);
    }
}
