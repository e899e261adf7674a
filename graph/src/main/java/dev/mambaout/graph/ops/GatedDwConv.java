package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/**
 * MambaOut's gated depthwise convolution as one op. x [N,H,W,2h] splits along channels into g [h], i [h - c],
 * cv [c] where c = weight.dim(0); out [N,H,W,h] = act(g) * cat(i, dwconv(cv)), the depthwise conv k x k with
 * bias and zero padding k/2 (weight [c,1,k,k] as PyTorch).
 */
public record GatedDwConv(Tensor x, Tensor weight, Tensor bias, Activation act, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x, weight, bias); }
    public List<Tensor> outputs() { return List.of(out); }
}
