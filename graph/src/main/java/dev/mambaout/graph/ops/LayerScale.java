package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** out[..., c] = x[..., c] * gamma[c]. */
public record LayerScale(Tensor x, Tensor gamma, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x, gamma); }
    public List<Tensor> outputs() { return List.of(out); }
}
