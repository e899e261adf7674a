package dev.mambaout.graph;

import java.util.Arrays;

/**
 * Dimensions of a tensor, outermost first. Rank 0 is a scalar (one element). The array is copied in and never
 * handed out, so a Shape is immutable and can key maps.
 */
public record Shape(int[] dims) {

    public Shape {
        dims = dims.clone();
        for (int d : dims) {
            if (d < 1) throw new IllegalArgumentException("every dimension must be >= 1, got " + Arrays.toString(dims));
        }
    }

    public static Shape of(int... dims) {
        return new Shape(dims);
    }

    @Override
    public int[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    /** Dimension i; negative i counts from the end (-1 is the last). */
    public int dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    public long numel() {
        long n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    /** Elements before the last dimension (the "rows" an op over the last dim iterates). */
    public long rows() {
        return dims.length == 0 ? 1 : numel() / dims[dims.length - 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
