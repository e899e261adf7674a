package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/** dLogits = dLoss * (softmax(logits) - q) / N. */
public record CrossEntropyBackward(Tensor logits, Tensor labels, Tensor dLoss, double labelSmoothing, Tensor dLogits)
        implements Op {
    public List<Tensor> inputs() { return List.of(logits, labels, dLoss); }
    public List<Tensor> outputs() { return List.of(dLogits); }
}
