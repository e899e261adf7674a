package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** Elementwise a + b of equal shapes: residuals, and the sum of gradient contributions in a backward graph. */
public record Add(Tensor a, Tensor b, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(a, b); }
    public List<Tensor> outputs() { return List.of(out); }
}
