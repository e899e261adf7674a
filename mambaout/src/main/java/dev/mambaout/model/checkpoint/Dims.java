package dev.mambaout.model.checkpoint;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.RandomAccess;

/**
 * An immutable shape stored as a {@code long[]}: a header may hold hundreds of thousands of shapes, and boxed
 * dimensions (16 bytes each beyond Long's small cache) would make their heap several times the header's length.
 * Equal to any {@code List<Long>} of the same dimensions.
 */
final class Dims extends AbstractList<Long> implements RandomAccess {

    private static final Dims SCALAR = new Dims(new long[0]);

    private final long[] dims;

    private Dims(long[] dims) {
        this.dims = dims;
    }

    static Dims of(long[] dims, int rank) {
        return rank == 0 ? SCALAR : new Dims(Arrays.copyOf(dims, rank));
    }

    static Dims copyOf(List<Long> shape) {
        if (shape instanceof Dims d) return d;
        long[] v = new long[shape.size()];
        for (int i = 0; i < v.length; i++) v[i] = shape.get(i);
        return of(v, v.length);
    }

    @Override
    public Long get(int index) {
        return dims[index];
    }

    @Override
    public int size() {
        return dims.length;
    }
}
