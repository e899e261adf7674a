package dev.mambaout.kernels;

/**
 * Geometry of the im2col family and the column layout it shares with the weight the GEMM multiplies it by: row
 * {@code (n*Ho + oy)*Wo + ox}, column {@code (ky*k + kx)*C + c}, rows {@link #colStride} long (zeros past k*k*C).
 */
public final class Im2colKernels {

    /** Threads per block: im2col.cu's __launch_bounds__ say 256 too (a larger block would not launch). */
    public static final int BLOCK = 256;
    /** Column strides are multiples of this: 16-byte rows for bf16 GEMM operands (and f32). */
    public static final int COL_ALIGN = 8;
    /** Grid cap: the kernels are grid-stride, and stride + index must stay below 2^32 (32-bit unsigned indices). */
    public static final int MAX_GRID = 1 << 20;
    /**
     * Blocks per SM of a vector-store launch. Those threads build five multiply-shift divisors before their first
     * unit, which costs more than a unit, so the grid is capped and each thread loops: 8 x 256 threads per SM, the
     * grid the H200 lab measured (kernels/lab/im2col_lab.cu v3), all resident at once under the kernels' launch bounds
     * on sm_80/sm_90 (2048 threads per SM).
     */
    public static final int BLOCKS_PER_SM = 8;

    private Im2colKernels() {}

    /** k*k*C rounded up to a multiple of {@link #COL_ALIGN}. */
    public static int colStride(int kernelSize, int channels) {
        positive(kernelSize, "kernelSize");
        positive(channels, "channels");
        long kkc = (long) kernelSize * kernelSize * channels;
        long stride = (kkc + COL_ALIGN - 1) / COL_ALIGN * COL_ALIGN;
        return Math.toIntExact(stride);
    }

    /** Output size of one spatial dimension: floor((in + 2p - k) / s) + 1; throws when the padded input is too small. */
    public static int outSize(int in, int kernelSize, int stride, int padding) {
        positive(in, "input size");
        positive(kernelSize, "kernelSize");
        positive(stride, "stride");
        if (padding < 0) throw new IllegalArgumentException("padding must be >= 0, was " + padding);
        int span = in + 2 * padding - kernelSize;
        if (span < 0) {
            throw new IllegalArgumentException("padded input " + (in + 2 * padding) + " is smaller than the kernel "
                    + kernelSize);
        }
        return span / stride + 1;
    }

    /**
     * A PyTorch conv weight [Cout, Cin, k, k] in the column order: packed[co * colStride + (ky*k + kx)*Cin + ci],
     * zeros in each row's padding, so col x packed^T is the convolution.
     */
    public static float[] packWeight(float[] torchWeight, int cout, int cin, int k) {
        positive(cout, "cout");
        int stride = colStride(k, cin);
        if (torchWeight.length != (long) cout * cin * k * k) {
            throw new IllegalArgumentException("weight has " + torchWeight.length + " values, [" + cout + "," + cin
                    + "," + k + "," + k + "] needs " + (long) cout * cin * k * k);
        }
        float[] packed = new float[Math.multiplyExact(cout, stride)];
        for (int co = 0; co < cout; co++) {
            for (int ci = 0; ci < cin; ci++) {
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        packed[co * stride + (ky * k + kx) * cin + ci] = torchWeight[((co * cin + ci) * k + ky) * k + kx];
                    }
                }
            }
        }
        return packed;
    }

    /**
     * Threads of one launch on a device of {@code smCount} SMs: a thread writes 16 bytes of a row when the stride
     * allows it (vector stores), on at most {@link #BLOCKS_PER_SM} blocks per SM, each thread looping over units;
     * else one element, one thread per element up to {@link #MAX_GRID} blocks. The kernel re-checks the alignment,
     * and being grid-stride it is correct with any grid.
     */
    public static LaunchGeometry geometry(int rows, int colStride, int elementBytes, int smCount) {
        positive(rows, "rows");
        positive(colStride, "colStride");
        positive(smCount, "smCount");
        long elements = (long) rows * colStride;
        if (elements > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("im2col of " + rows + " rows x " + colStride + " columns has " + elements
                    + " elements; the kernels index at most 2^31 - 1 (split the batch)");
        }
        int v = 16 / elementBytes;
        boolean vectorStores = colStride % v == 0;
        long units = vectorStores ? elements / v : elements;
        long cap = vectorStores ? Math.min(MAX_GRID, (long) BLOCKS_PER_SM * smCount) : MAX_GRID;
        return LaunchGeometry.linear((int) Math.min(cap, (units + BLOCK - 1) / BLOCK), BLOCK);
    }

    /**
     * Threads of one col2im launch (the backward gather: dx [pixels = N*H*W, C] from dcol [rows, colStride] of
     * {@code dcolElementBytes} each): a thread sums 16 bytes of dcol's type per tap (V = 16 / dcolElementBytes
     * channels of one pixel) when C and colStride are multiples of V, else one element; either way on at most
     * {@link #BLOCKS_PER_SM} blocks per SM, each thread looping (it builds four multiply-shift divisors first). The
     * kernel re-checks the alignment of dx and dcol, and being grid-stride it is correct with any grid.
     */
    public static LaunchGeometry col2im(long pixels, int channels, long rows, int colStride, int dcolElementBytes,
                                        int smCount) {
        positive(channels, "channels");
        positive(colStride, "colStride");
        positive(smCount, "smCount");
        if (pixels <= 0 || rows <= 0) {
            throw new IllegalArgumentException("pixels and rows must be positive, were " + pixels + " and " + rows);
        }
        if (dcolElementBytes != 2 && dcolElementBytes != 4) {
            throw new IllegalArgumentException("dcol elements are 2 (bf16) or 4 (f32) bytes, was " + dcolElementBytes);
        }
        long elements = pixels * channels, colElements = rows * colStride;
        if (elements > Integer.MAX_VALUE || colElements > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("col2im of dx " + pixels + " x " + channels + " = " + elements
                    + " elements from dcol " + rows + " x " + colStride + " = " + colElements
                    + "; the kernels index at most 2^31 - 1 of each (split the batch)");
        }
        int v = 16 / dcolElementBytes;
        long units = channels % v == 0 && colStride % v == 0 ? elements / v : elements;
        long cap = Math.min(MAX_GRID, (long) BLOCKS_PER_SM * smCount);
        return LaunchGeometry.linear((int) Math.min(cap, (units + BLOCK - 1) / BLOCK), BLOCK);
    }

    private static void positive(int v, String what) {
        if (v <= 0) throw new IllegalArgumentException(what + " must be positive, was " + v);
    }
}
