package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** LayerNorm over the last dim with biased variance (as PyTorch), then affine weight and bias [C]. */
public record LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x, weight, bias); }
    public List<Tensor> outputs() { return List.of(out); }
}
