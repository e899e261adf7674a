package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.natives.blas.ComputeType;

/**
 * How a lowered program stores activations and multiplies matrices. Statistics, accumulation and every kernel's
 * arithmetic are float in all three; only storage and the GEMM operands change.
 */
public enum Precision {
    /** float storage, float GEMMs (the default: closest to the reference). */
    F32(DType.F32, ComputeType.F32),
    /** float storage, GEMMs on the tensor cores in TF32 (opt-in: about 1e-3 relative per product). */
    TF32(DType.F32, ComputeType.F32_FAST_TF32),
    /** bf16 activations and GEMM operands, float accumulation and statistics; logits in float. */
    BF16(DType.BF16, ComputeType.F32);

    private final DType storage;
    private final ComputeType compute;

    Precision(DType storage, ComputeType compute) {
        this.storage = storage;
        this.compute = compute;
    }

    /** The dtype of activations and GEMM weights. */
    public DType storage() { return storage; }

    public ComputeType compute() { return compute; }

    /** Case-insensitive, as a user types it ("bf16", "F32", "tf32"). */
    public static Precision parse(String s) {
        for (Precision p : values()) if (p.name().equalsIgnoreCase(s.trim())) return p;
        throw new IllegalArgumentException("unknown precision '" + s + "'; expected one of f32, tf32, bf16");
    }
}
