package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** Pointwise activation (GELU exact or SiLU). */
public record Act(Tensor x, Activation fn, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x); }
    public List<Tensor> outputs() { return List.of(out); }
}
