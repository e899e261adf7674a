package dev.mambaout.kernels;

/**
 * Geometry of the drop-path family (droppath.cu): one row of blocks per sample (blockIdx.y, so the keep decision is
 * made once per block) and grid-stride over the sample's elements, about four per thread.
 */
public final class DropPathKernels {

    /** Threads per block of all four kernels. */
    public static final int BLOCK = 256;
    /** Elements a thread covers when the grid is as wide as this rule makes it (any width is correct). */
    public static final int ELEMENTS_PER_THREAD = 4;
    /** gridDim.y's hardware limit: the batch a launch can cover. */
    public static final int MAX_SAMPLES = 65_535;

    private DropPathKernels() {}

    /** Grid (ceil(perSample / 1024), samples) x block 256 of every droppath kernel. */
    public static LaunchGeometry geometry(int samples, long perSample) {
        if (samples <= 0 || samples > MAX_SAMPLES) {
            throw new IllegalArgumentException("drop path: samples must lie in [1, " + MAX_SAMPLES + "], was " + samples);
        }
        if (perSample <= 0 || samples * perSample > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("drop path: " + samples + " samples of " + perSample
                    + " elements must be positive and below 2^31 in all (the kernels' 32-bit indices)");
        }
        int per = BLOCK * ELEMENTS_PER_THREAD;
        return new LaunchGeometry((int) ((perSample + per - 1) / per), samples, 1, BLOCK, 1, 1, 0);
    }
}
