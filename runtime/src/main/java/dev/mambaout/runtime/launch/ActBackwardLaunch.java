package dev.mambaout.runtime.launch;

import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.ElementwiseKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * dx = dy * act'(x) elementwise (graph's ActBackward): x, dy and dx of one shape and dtype, F32 or BF16. dx may be
 * x or dy itself (the same view), but must not partly overlap either.
 */
public final class ActBackwardLaunch {

    private ActBackwardLaunch() {}

    public static Launch prepare(KernelModules m, Tensor dx, Tensor x, Tensor dy, Activation act) {
        String k = "act_backward";
        if (m == null || dx == null || x == null || dy == null || act == null) {
            throw new IllegalArgumentException(k + ": modules, dx, x, dy and the activation are required");
        }
        LaunchChecks.activation(k, "x", x);
        LaunchChecks.dtype(k, "dy", dy, x.dtype());
        LaunchChecks.dtype(k, "dx", dx, x.dtype());
        if (!dy.shape().equals(x.shape()) || !dx.shape().equals(x.shape())) {
            throw new IllegalArgumentException(k + ": dy " + dy.shape() + " and dx " + dx.shape() + " must have x's shape "
                    + x.shape());
        }
        if (x.numel() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(k + ": " + x.numel() + " elements, more than 2^31 - 1 (split it)");
        }
        partialOverlap(k, "x", dx, x);
        partialOverlap(k, "dy", dx, dy);
        // The kernel's act codes are Activation's ordinals: 0 = GELU, 1 = SILU.
        return m.prepare(LaunchChecks.byDtype(x.dtype(), KernelCatalog.ACT_BACKWARD_F32, KernelCatalog.ACT_BACKWARD_BF16),
                ElementwiseKernels.geometry(x.numel(), x.dtype().bytes()), dx.arg(), x.arg(), dy.arg(),
                i32((int) x.numel()), i32(act.ordinal()));
    }

    private static void partialOverlap(String k, String what, Tensor dx, Tensor in) {
        boolean same = dx.address() == in.address();
        if (!same && dx.overlaps(in)) {
            throw new IllegalArgumentException(k + ": dx partly overlaps " + what + " (it may be " + what
                    + " itself, not a shifted view)");
        }
    }
}
