package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** Gradients of {@link GatedDwConv} for x [N,H,W,2h], weight [c,1,k,k] and bias [c]; recomputes the conv from x. */
public record GatedDwConvBackward(Tensor x, Tensor weight, Tensor bias, Tensor dy, Activation act,
                                  Tensor dx, Tensor dWeight, Tensor dBias) implements Op {
    public List<Tensor> inputs() { return List.of(x, weight, bias, dy); }
    public List<Tensor> outputs() { return List.of(dx, dWeight, dBias); }
}
