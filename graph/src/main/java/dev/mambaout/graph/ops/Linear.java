package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** out[..., o] = bias[o] + sum_i x[..., i] * weight[o, i]; weight [out, in] as PyTorch. */
public record Linear(Tensor x, Tensor weight, Tensor bias, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x, weight, bias); }
    public List<Tensor> outputs() { return List.of(out); }
}
