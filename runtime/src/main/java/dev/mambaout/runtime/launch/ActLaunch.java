package dev.mambaout.runtime.launch;

import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.ElementwiseKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/** out = act(x) elementwise (out may be x): same shape and dtype, F32 or BF16. */
public final class ActLaunch {

    private ActLaunch() {}

    public static Launch prepare(KernelModules m, Tensor out, Tensor x, Activation act) {
        String k = "act_forward";
        LaunchChecks.activation(k, "x", x);
        LaunchChecks.dtype(k, "out", out, x.dtype());
        if (!out.shape().equals(x.shape())) {
            throw new IllegalArgumentException(k + ": out " + out.shape() + " must have x's shape " + x.shape());
        }
        if (x.numel() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(k + ": " + x.numel() + " elements, more than 2^31 - 1 (split it)");
        }
        // The kernel's act codes are Activation's ordinals: 0 = GELU, 1 = SILU.
        return m.prepare(LaunchChecks.byDtype(x.dtype(), KernelCatalog.ACT_FORWARD_F32, KernelCatalog.ACT_FORWARD_BF16),
                ElementwiseKernels.geometry(x.numel(), x.dtype().bytes()), out.arg(), x.arg(), i32((int) x.numel()),
                i32(act.ordinal()));
    }
}
