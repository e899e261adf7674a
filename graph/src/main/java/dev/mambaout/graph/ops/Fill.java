package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** A constant tensor: the seed gradient 1 of the loss, and the zero gradient of a tensor that never reaches it. */
public record Fill(double value, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(); }
    public List<Tensor> outputs() { return List.of(out); }
}
