package dev.mambaout.graph.ops;

import dev.mambaout.graph.Tensor;

import java.util.List;

/**
 * One node of a static graph: operand tensors, result tensors and attributes, nothing else. Ops carry no kernels
 * and no backward code: executors (CPU, GPU) interpret the records and {@code Autodiff} holds the backward rules,
 * so a new executor never has to touch this family. Layouts are NHWC; weights keep PyTorch's layouts.
 */
public sealed interface Op permits
        NchwToNhwc, NhwcToNchw,
        Conv2d, Conv2dBackwardInput, Conv2dBackwardWeight,
        LayerNorm, LayerNormBackward,
        Linear, LinearBackwardInput, LinearBackwardWeight,
        GatedDwConv, GatedDwConvBackward,
        Act, ActBackward,
        LayerScale, LayerScaleBackward,
        Add, MeanHW, MeanHWBackward,
        CrossEntropy, CrossEntropyBackward,
        Fill,
        DropPath, DropPathBackward {

    /** Tensors read, in a fixed order per op kind. */
    List<Tensor> inputs();

    /** Tensors written; never aliases of inputs (executors and the planner rely on that). */
    List<Tensor> outputs();

    default String kind() {
        return getClass().getSimpleName();
    }
}
