package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** [N,H,W,C] to [N,C,H,W]: carries the input's gradient back to the caller's layout. */
public record NhwcToNchw(Tensor x, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x); }
    public List<Tensor> outputs() { return List.of(out); }
}
