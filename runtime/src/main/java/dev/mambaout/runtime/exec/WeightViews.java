package dev.mambaout.runtime.exec;

import dev.mambaout.runtime.Tensor;

/**
 * Where a program's steps find the parameters they read: {@link GpuWeights} for inference (packed once at upload), the
 * training state's flat buffers for a training step (slices of the f32 master, its bf16 copy and the gradients).
 */
interface WeightViews {
    /** The device tensor behind {@code w}, in the dtype, shape and layout {@code w} names. */
    Tensor get(Lowering.Weight w);
}
