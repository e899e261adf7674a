package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** dx = dy * gamma; dGamma[c] = sum over rows of dy * x. */
public record LayerScaleBackward(Tensor x, Tensor gamma, Tensor dy, Tensor dx, Tensor dGamma) implements Op {
    public List<Tensor> inputs() { return List.of(x, gamma, dy); }
    public List<Tensor> outputs() { return List.of(dx, dGamma); }
}
