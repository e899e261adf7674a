package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** Global average pool: [N,H,W,C] -> [N,C]. */
public record MeanHW(Tensor x, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x); }
    public List<Tensor> outputs() { return List.of(out); }
}
