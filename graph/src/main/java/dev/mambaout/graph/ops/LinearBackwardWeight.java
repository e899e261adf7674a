package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** dWeight[o, i] = sum over rows of dy[., o] * x[., i]; dBias[o] = sum over rows of dy[., o]. */
public record LinearBackwardWeight(Tensor x, Tensor dy, Tensor dWeight, Tensor dBias) implements Op {
    public List<Tensor> inputs() { return List.of(x, dy); }
    public List<Tensor> outputs() { return List.of(dWeight, dBias); }
}
