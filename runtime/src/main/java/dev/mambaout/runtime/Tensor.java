package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelArg;

/**
 * A view of device memory: base address (an arena's allocation) plus a byte offset, a shape and a dtype; dense,
 * row-major. Owns nothing: the arena that holds the memory outlives its views.
 */
public record Tensor(long base, long byteOffset, Shape shape, DType dtype) {

    public Tensor {
        if (shape == null || dtype == null) throw new IllegalArgumentException("shape and dtype are required");
        if (base == 0) throw new IllegalArgumentException("a tensor needs a non-null device base address");
        if (byteOffset < 0) throw new IllegalArgumentException("negative byte offset " + byteOffset);
        if ((base + byteOffset) % dtype.bytes() != 0) {
            throw new IllegalArgumentException("address 0x" + Long.toHexString(base + byteOffset) + " is not aligned to "
                    + dtype + "'s " + dtype.bytes() + " bytes");
        }
    }

    /** The device address of the first element. */
    public long address() { return base + byteOffset; }

    public long numel() { return shape.numel(); }

    public long bytes() { return shape.numel() * dtype.bytes(); }

    /** Whether the two tensors share any byte of device memory (kernels with restrict pointers refuse that). */
    public boolean overlaps(Tensor other) {
        return address() < other.address() + other.bytes() && other.address() < address() + bytes();
    }

    /** Contiguous strides in elements. */
    public long[] strides() { return shape.strides(); }

    /** Contiguous strides in bytes. */
    public long[] byteStrides() {
        long[] s = shape.strides();
        for (int i = 0; i < s.length; i++) s[i] *= dtype.bytes();
        return s;
    }

    /** The same memory with another shape of as many elements. */
    public Tensor reshape(Shape to) {
        if (to.numel() != numel()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " (" + numel() + " elements) to " + to
                    + " (" + to.numel() + " elements)");
        }
        return new Tensor(base, byteOffset, to, dtype);
    }

    /** [tokens, channels]: an NHWC activation as the matrix channel-wise kernels see. */
    public Tensor asTokens() {
        return reshape(Shape.of(Math.toIntExact(shape.tokens()), shape.channels()));
    }

    /** A contiguous sub-view starting {@code elementOffset} elements in; must lie inside this tensor. */
    public Tensor view(long elementOffset, Shape viewShape) {
        if (elementOffset < 0 || elementOffset + viewShape.numel() > numel()) {
            throw new IndexOutOfBoundsException("view of " + viewShape + " at element " + elementOffset
                    + " does not fit in " + shape + " (" + numel() + " elements)");
        }
        return new Tensor(base, byteOffset + elementOffset * dtype.bytes(), viewShape, dtype);
    }

    /** Rows [start, start + count) of the outermost dimension, e.g. part of a batch. */
    public Tensor slice(int start, int count) {
        int[] d = shape.dims();
        if (d.length == 0) throw new IllegalStateException("cannot slice a scalar");
        if (start < 0 || count <= 0 || start + count > d[0]) {
            throw new IndexOutOfBoundsException("slice [" + start + ", " + (start + count) + ") of dimension 0 of " + shape);
        }
        long rowElements = shape.numel() / d[0];
        d[0] = count;
        return view(start * rowElements, new Shape(d));
    }

    /** This tensor's address as a kernel argument. */
    public KernelArg arg() { return KernelArg.ptr(address()); }
}
