package dev.mambaout.graph.ops;

/** Pointwise nonlinearities: GELU is the exact erf form (PyTorch's default), SiLU is x * sigmoid(x). */
public enum Activation { GELU, SILU }
