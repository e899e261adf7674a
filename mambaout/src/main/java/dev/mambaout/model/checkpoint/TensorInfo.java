package dev.mambaout.model.checkpoint;

import dev.mambaout.graph.DType;

import java.util.List;

/**
 * One tensor's header entry.
 *
 * @param begin byte offset of the first element, relative to the start of the data area
 * @param end   byte offset one past the last element (end - begin == numel * dtype size, checked on open)
 */
public record TensorInfo(String name, DType dtype, List<Long> shape, long begin, long end) {

    public TensorInfo {
        shape = Dims.copyOf(shape);
    }

    /** Element count; never overflows because the header check already multiplied it out exactly. */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public long byteSize() {
        return end - begin;
    }

    /** Whether the shape equals a shape written with int dims (as {@code ParameterSpec} does). */
    public boolean hasShape(List<Integer> dims) {
        if (dims.size() != shape.size()) return false;
        for (int i = 0; i < dims.size(); i++) {
            if (shape.get(i) != dims.get(i).longValue()) return false;
        }
        return true;
    }
}
