package dev.mambaout.graph.cpu;

/**
 * Arithmetic of the CPU executor. F64 computes and stores in double. F32 stores every tensor in float32 precision
 * (bound values and each op's outputs are rounded to float when written) while one op accumulates in double, the
 * way a careful f32 GPU kernel behaves with its wider accumulators; it is the reference for f32 kernels.
 */
public enum Precision { F64, F32 }
