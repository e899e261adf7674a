package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/**
 * Gradients of {@link LayerNorm} for x, weight and bias. Mean and variance are recomputed from x rather than saved,
 * so the forward op stays single-output and the arena holds no statistics between the passes.
 */
public record LayerNormBackward(Tensor x, Tensor weight, Tensor dy, double eps, Tensor dx, Tensor dWeight, Tensor dBias)
        implements Op {
    public List<Tensor> inputs() { return List.of(x, weight, dy); }
    public List<Tensor> outputs() { return List.of(dx, dWeight, dBias); }
}
