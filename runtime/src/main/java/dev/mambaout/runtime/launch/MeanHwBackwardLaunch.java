package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.HeadBackwardKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * Backward of the head's mean over H*W, graph's MeanHWBackward: dx [N,H,W,C] = dy [N,C] / (H*W). dy and dx F32,
 * both BF16, or F32 dy (the LayerNorm backward's f32 dinp) into BF16 dx. dx must not overlap dy.
 */
public final class MeanHwBackwardLaunch {

    private MeanHwBackwardLaunch() {}

    public static Launch prepare(KernelModules m, Tensor dx, Tensor dy) {
        String k = "mean_hw_backward";
        if (m == null || dx == null || dy == null) throw new IllegalArgumentException(k + ": modules, dx and dy are required");
        LaunchChecks.rank(k, "dx [N,H,W,C]", dx, 4);
        LaunchChecks.activation(k, "dy", dy);
        LaunchChecks.activation(k, "dx", dx);
        KernelSpec spec;
        if (dy.dtype() == dx.dtype()) {
            spec = LaunchChecks.byDtype(dx.dtype(), KernelCatalog.MEAN_HW_BACKWARD_F32, KernelCatalog.MEAN_HW_BACKWARD_BF16);
        } else if (dy.dtype() == DType.F32) {
            spec = KernelCatalog.MEAN_HW_BACKWARD_F32_BF16;
        } else {
            throw new IllegalArgumentException(k + ": BF16 dy into F32 dx is not a variant (dy F32 -> dx F32 or BF16, "
                    + "or BF16 -> BF16)");
        }
        Shape s = dx.shape();
        int n = s.dim(0), c = s.dim(3);
        long hwc = (long) s.dim(1) * s.dim(2) * c;
        if (hwc > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(k + ": one image of dx " + s + " has " + hwc + " elements, more than 2^31 - 1");
        }
        int hw = s.dim(1) * s.dim(2);
        if (!dy.shape().equals(Shape.of(n, c))) {
            throw new IllegalArgumentException(k + ": dy must be [" + n + ", " + c + "] for dx " + s + ", was " + dy.shape());
        }
        if (dx.overlaps(dy)) {
            throw new IllegalArgumentException(k + ": dx overlaps dy");
        }
        return m.prepare(spec, HeadBackwardKernels.geometry(n, hw, c, dx.dtype().bytes(), dx.address() % 16 == 0),
                dx.arg(), dy.arg(), i32(n), i32(hw), i32(c));
    }
}
