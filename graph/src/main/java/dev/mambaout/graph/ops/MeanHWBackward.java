package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** dx[n,h,w,c] = dy[n,c] / (H*W); H and W come from dx's shape. */
public record MeanHWBackward(Tensor dy, Tensor dx) implements Op {
    public List<Tensor> inputs() { return List.of(dy); }
    public List<Tensor> outputs() { return List.of(dx); }
}
