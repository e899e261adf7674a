package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/**
 * Mean over the batch of -sum_k q_k log softmax(logits)_k with q = (1 - s) onehot(label) + s/K, PyTorch's
 * {@code cross_entropy(..., label_smoothing=s)}. logits [N,K], labels I32 [N] -> scalar.
 */
public record CrossEntropy(Tensor logits, Tensor labels, double labelSmoothing, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(logits, labels); }
    public List<Tensor> outputs() { return List.of(out); }
}
