package dev.mambaout.kernels;

/**
 * Geometry of mean_hw_layernorm (head.cu): one block per image, a thread per channel (looping past 1024), the pooled
 * row in dynamic shared memory when it fits the default 48 KB beside the kernel's static scratch (HEAD_MAX_CACHED_C
 * in the kernel, which decides the same way).
 */
public final class HeadKernels {

    public static final int MAX_BLOCK = 1024;
    /** Rows up to this long are pooled into shared memory once; longer ones are recomputed (head.cu). */
    public static final int MAX_CACHED_C = 12032;

    private HeadKernels() {}

    public static LaunchGeometry geometry(int n, int hw, int channels) {
        if (n <= 0 || hw <= 0 || channels <= 0) {
            throw new IllegalArgumentException("N, HW and C must be positive, were " + n + ", " + hw + ", " + channels);
        }
        int block = Math.min(MAX_BLOCK, (channels + 31) / 32 * 32);
        int shared = channels <= MAX_CACHED_C ? channels * Float.BYTES : 0;
        return new LaunchGeometry(n, 1, 1, block, 1, 1, shared);
    }
}
