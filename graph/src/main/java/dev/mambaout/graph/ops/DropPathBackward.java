package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** dx[n, ...] = dy[n, ...] * scale[n]: the same per-sample scales as the forward {@link DropPath} of that block. */
public record DropPathBackward(Tensor dy, Tensor step, double rate, long seed, int block, Tensor dx) implements Op {
    public List<Tensor> inputs() { return List.of(dy, step); }
    public List<Tensor> outputs() { return List.of(dx); }
}
