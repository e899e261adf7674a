package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** Gradients of {@link Conv2d} with respect to weight [Cout,Cin,k,k] and bias [Cout], from x and dy. */
public record Conv2dBackwardWeight(Tensor x, Tensor dy, int stride, int padding, Tensor dWeight, Tensor dBias)
        implements Op {
    public List<Tensor> inputs() { return List.of(x, dy); }
    public List<Tensor> outputs() { return List.of(dWeight, dBias); }
}
