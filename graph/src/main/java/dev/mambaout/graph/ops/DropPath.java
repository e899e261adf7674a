package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/**
 * Stochastic depth on a residual branch (timm's DropPath, scale_by_keep): out[n, ...] = x[n, ...] * scale[n] with
 * scale[n] = 1 / (1 - rate) for kept samples and 0 for dropped ones, the decision drawn by
 * {@link dev.mambaout.graph.DropPathRng} from (seed, the I64 step counter's value, block, n). Training graphs only:
 * in evaluation the branch passes unchanged, so inference graphs hold no DropPath.
 *
 * @param step  I64 [1], the training step the mask belongs to (bound per run, not baked into the graph)
 * @param block the block's index in the network: its own mask stream
 */
public record DropPath(Tensor x, Tensor step, double rate, long seed, int block, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x, step); }
    public List<Tensor> outputs() { return List.of(out); }
}
