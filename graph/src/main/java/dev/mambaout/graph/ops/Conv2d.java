package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/**
 * Dense 2-D convolution on NHWC: x [N,H,W,Cin], weight [Cout,Cin,k,k] (PyTorch), bias [Cout] ->
 * out [N,Ho,Wo,Cout] with Ho = floor((H + 2p - k)/s) + 1, zero padding.
 */
public record Conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, Tensor out) implements Op {
    public List<Tensor> inputs() { return List.of(x, weight, bias); }
    public List<Tensor> outputs() { return List.of(out); }
}
