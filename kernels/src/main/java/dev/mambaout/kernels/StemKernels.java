package dev.mambaout.kernels;

import java.util.Arrays;
import java.util.List;

/**
 * The fused stem kernel (stem.cu): conv 3x3 from the NCHW f32 batch + bias, [LayerNorm over channels], act, NHWC out.
 * A thread holds whole pixels with every output channel in registers, so the kernel is compiled per channel width
 * ({@link #WIDTHS}); the packed weights (taps x width, then bias, gamma, beta) sit in shared memory.
 */
public final class StemKernels {

    /** Threads per block: stem.cu's STEM_BLOCK and its __launch_bounds__. */
    public static final int BLOCK = 128;
    public static final int KERNEL_SIZE = 3;
    /** The compiled channel widths (stem.cu's instantiations); a stem with more output channels is not fused. */
    private static final int[] WIDTHS = {8, 16, 24, 32, 48, 64};
    /** Static shared memory the kernel may use without opting in; the packed weights must fit. */
    private static final int MAX_SHARED = 48 * 1024;

    private StemKernels() {}

    /** The compiled widths, smallest first. */
    public static List<Integer> widths() {
        return Arrays.stream(WIDTHS).boxed().toList();
    }

    /** The compiled width for {@code outChannels}: the smallest that holds them, or -1 when none does. */
    public static int width(int outChannels) {
        for (int w : WIDTHS) if (outChannels >= 1 && outChannels <= w) return w;
        return -1;
    }

    /** Whether a conv of this shape runs fused: k = 3, a compiled width, and packed weights that fit shared memory. */
    public static boolean supports(int inChannels, int outChannels, int kernelSize) {
        int w = width(outChannels);
        return kernelSize == KERNEL_SIZE && inChannels >= 1 && w > 0 && sharedBytes(inChannels, w) <= MAX_SHARED;
    }

    /** Pixels per thread at width w: 2 while their accumulators fit (stem.cu: PIX 2 up to 32 channels). */
    public static int pixelsPerThread(int width) {
        return width <= 32 ? 2 : 1;
    }

    /** Words of the packed buffer: C*9 tap rows, then bias, gamma and beta, each {@code width} long. */
    public static int packedLength(int inChannels, int width) {
        return Math.multiplyExact(inChannels * KERNEL_SIZE * KERNEL_SIZE + 3, width);
    }

    public static int sharedBytes(int inChannels, int width) {
        return Math.multiplyExact(packedLength(inChannels, width), Float.BYTES);
    }

    /** One thread per {@link #pixelsPerThread} output pixels; the packed weights as dynamic shared memory. */
    public static LaunchGeometry geometry(long pixels, int inChannels, int width) {
        if (pixels <= 0) throw new IllegalArgumentException("pixels must be positive, was " + pixels);
        long perBlock = (long) BLOCK * pixelsPerThread(width);
        long blocks = (pixels + perBlock - 1) / perBlock;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException(pixels + " pixels need more than 2^31 - 1 blocks");
        return new LaunchGeometry((int) blocks, 1, 1, BLOCK, 1, 1, sharedBytes(inChannels, width));
    }

    /**
     * The kernel's packed buffer from PyTorch's conv weight [Co, Ci, 3, 3], its bias and the LayerNorm's weight and
     * bias (null without a LayerNorm: zeros, unread): tap t = (ci*3 + ky)*3 + kx at [t * width + o], zero for
     * o >= Co, so the padded channels stay exactly 0 through the conv.
     */
    public static float[] pack(float[] weight, float[] bias, float[] gamma, float[] beta, int outChannels,
                               int inChannels) {
        int w = width(outChannels);
        if (w < 0) throw new IllegalArgumentException("no stem kernel for " + outChannels + " output channels (at most 64)");
        int taps = inChannels * KERNEL_SIZE * KERNEL_SIZE;
        check(weight, (long) outChannels * taps, "weight");
        check(bias, outChannels, "bias");
        if ((gamma == null) != (beta == null)) throw new IllegalArgumentException("LayerNorm weight and bias go together");
        if (gamma != null) {
            check(gamma, outChannels, "LayerNorm weight");
            check(beta, outChannels, "LayerNorm bias");
        }
        float[] p = new float[packedLength(inChannels, w)];
        for (int o = 0; o < outChannels; o++) {
            for (int t = 0; t < taps; t++) p[t * w + o] = weight[o * taps + t];
            p[taps * w + o] = bias[o];
            if (gamma != null) {
                p[(taps + 1) * w + o] = gamma[o];
                p[(taps + 2) * w + o] = beta[o];
            }
        }
        return p;
    }

    private static void check(float[] v, long want, String what) {
        if (v == null || v.length != want) {
            throw new IllegalArgumentException("stem " + what + " has " + (v == null ? "no" : v.length) + " values, needs " + want);
        }
    }
}
