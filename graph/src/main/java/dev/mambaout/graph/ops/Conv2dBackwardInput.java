package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** Gradient of {@link Conv2d} with respect to its input: dy [N,Ho,Wo,Cout], weight -> dx [N,H,W,Cin]. */
public record Conv2dBackwardInput(Tensor dy, Tensor weight, int stride, int padding, Tensor dx) implements Op {
    public List<Tensor> inputs() { return List.of(dy, weight); }
    public List<Tensor> outputs() { return List.of(dx); }
}
