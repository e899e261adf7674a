package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.LnLinearKernels;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.f32;
import static dev.mambaout.kernels.KernelArg.i32;

/**
 * A LayerNorm and the Linear that reads it as one inference kernel (ln_linear.cu): y = LN(x) W^T + b with x [.., K]
 * F32 (the residual stream), gamma and beta F32 [K], w BF16 [N, K], bias F32 [N], y BF16 [.., N]. The grid is sized
 * for {@code smCount} SMs (persistent blocks).
 */
public final class LnLinearLaunch {

    private LnLinearLaunch() {}

    public static Launch prepare(KernelModules modules, Tensor y, Tensor x, Tensor gamma, Tensor beta, Tensor w,
                                 Tensor bias, double eps, int smCount) {
        String k = "ln_linear_forward";
        LaunchChecks.dtype(k, "x", x, DType.F32);
        LaunchChecks.dtype(k, "y", y, DType.BF16);
        LaunchChecks.dtype(k, "w", w, DType.BF16);
        LaunchChecks.dtype(k, "gamma", gamma, DType.F32);
        LaunchChecks.dtype(k, "beta", beta, DType.F32);
        LaunchChecks.dtype(k, "bias", bias, DType.F32);
        LaunchChecks.rank(k, "w [N, K]", w, 2);
        int n = w.shape().dim(0), kk = w.shape().dim(1);
        Shape xs = x.shape();
        if (xs.dim(xs.rank() - 1) != kk) {
            throw new IllegalArgumentException(k + ": x's last dimension must be w's K = " + kk + ", x is " + xs);
        }
        if (!LnLinearKernels.supports(kk, n)) {
            throw new IllegalArgumentException(k + ": no kernel for K = " + kk + ", N = " + n + " (K in "
                    + LnLinearKernels.ks() + ", N even)");
        }
        long tokens = x.numel() / kk;
        if (tokens > Integer.MAX_VALUE || y.numel() != tokens * n) {
            throw new IllegalArgumentException(k + ": y must hold " + tokens + " x " + n + " values (x " + xs + "), was "
                    + y.shape() + (tokens > Integer.MAX_VALUE ? " (more than 2^31 - 1 tokens)" : ""));
        }
        if (gamma.numel() != kk || beta.numel() != kk || bias.numel() != n) {
            throw new IllegalArgumentException(k + ": gamma and beta must hold K = " + kk + " and bias N = " + n
                    + " values, were " + gamma.shape() + ", " + beta.shape() + ", " + bias.shape());
        }
        // 16-byte W rows and y pieces, 8-byte x pairs.
        if (w.address() % 16 != 0 || y.address() % 16 != 0 || x.address() % 8 != 0) {
            throw new IllegalArgumentException(k + ": w and y must be 16-byte aligned and x 8-byte aligned");
        }
        if (y.overlaps(x)) throw new IllegalArgumentException(k + ": y must not overlap x");
        if (!(eps > 0)) throw new IllegalArgumentException(k + ": eps must be positive, was " + eps);
        int nb = LnLinearKernels.sliceColumns(kk, n);
        return modules.prepare(KernelCatalog.lnLinearForward(kk), LnLinearKernels.geometry(tokens, kk, n, smCount),
                y.arg(), x.arg(), gamma.arg(), beta.arg(), w.arg(), bias.arg(), i32((int) tokens), i32(n), i32(nb),
                f32((float) eps));
    }
}
