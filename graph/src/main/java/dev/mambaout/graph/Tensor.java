package dev.mambaout.graph;


/**
 * A value in a graph: pure data (no storage). Ids are unique within one builder lineage, so the forward graph's
 * tensors keep their identity inside the training graph derived from it.
 */
public record Tensor(int id, String name, Shape shape, DType dtype, Role role) {

    /** Where a tensor's value comes from: bound by the caller (input, parameter) or computed by an op. */
    public enum Role { INPUT, PARAMETER, COMPUTED }

    public long numel() {
        return shape.numel();
    }

    @Override
    public String toString() {
        return name + shape + ":" + dtype;
    }
}
