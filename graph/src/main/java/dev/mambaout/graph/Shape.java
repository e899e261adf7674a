package dev.mambaout.graph;

import java.util.Arrays;

/**
 * Dimensions of a dense tensor, outermost first. Activations are NHWC: [N, H, W, C], channels contiguous, so a
 * rank-4 activation is also a [N*H*W tokens, C] matrix without any copy.
 */
public record Shape(int[] dims) {

    public Shape {
        dims = dims.clone();
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] <= 0) {
                throw new IllegalArgumentException("dimension " + i + " of " + Arrays.toString(dims) + " must be positive");
            }
        }
    }

    public static Shape of(int... dims) { return new Shape(dims); }

    /** [n, h, w, c], channels last. */
    public static Shape nhwc(int n, int h, int w, int c) { return new Shape(new int[] {n, h, w, c}); }

    @Override
    public int[] dims() { return dims.clone(); }

    public int rank() { return dims.length; }

    /** Dimension i; a negative i counts from the end (-1 is the last), as in PyTorch. */
    public int dim(int i) {
        int k = i < 0 ? dims.length + i : i;
        if (k < 0 || k >= dims.length) throw new IndexOutOfBoundsException("dimension " + i + " of rank-" + dims.length + " " + this);
        return dims[k];
    }

    /** Number of elements (1 for a rank-0 scalar). */
    public long numel() {
        long n = 1;
        for (int d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Contiguous row-major strides in elements: the last dimension has stride 1. */
    public long[] strides() {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    /** Last dimension: the channels of an NHWC activation. */
    public int channels() {
        requireRankAtLeast(1);
        return dims[dims.length - 1];
    }

    /** Product of every dimension but the last: the tokens a channel-wise kernel (LayerNorm, fc) iterates over. */
    public long tokens() {
        requireRankAtLeast(1);
        return numel() / channels();
    }

    public int n() { requireNhwc(); return dims[0]; }

    public int h() { requireNhwc(); return dims[1]; }

    public int w() { requireNhwc(); return dims[2]; }

    public int c() { requireNhwc(); return dims[3]; }

    private void requireNhwc() {
        if (dims.length != 4) throw new IllegalStateException("not an NHWC shape (rank 4): " + this);
    }

    private void requireRankAtLeast(int r) {
        if (dims.length < r) throw new IllegalStateException("shape " + this + " has rank < " + r);
    }

    @Override
    public boolean equals(Object o) { return o instanceof Shape s && Arrays.equals(dims, s.dims); }

    @Override
    public int hashCode() { return Arrays.hashCode(dims); }

    @Override
    public String toString() { return Arrays.toString(dims); }
}
