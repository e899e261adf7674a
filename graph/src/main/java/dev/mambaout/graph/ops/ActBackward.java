package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** dx = dy * act'(x). */
public record ActBackward(Tensor x, Tensor dy, Activation fn, Tensor dx) implements Op {
    public List<Tensor> inputs() { return List.of(x, dy); }
    public List<Tensor> outputs() { return List.of(dx); }
}
