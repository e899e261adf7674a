package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** dx[..., i] = sum_o dy[..., o] * weight[o, i]. */
public record LinearBackwardInput(Tensor dy, Tensor weight, Tensor dx) implements Op {
    public List<Tensor> inputs() { return List.of(dy, weight); }
    public List<Tensor> outputs() { return List.of(dx); }
}
