package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** [N,C,H,W] to [N,H,W,C]: the one layout change, at the image input. */
public record NchwToNhwc(Tensor x, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x); }
    public List<Tensor> outputs() { return List.of(out); }
}
