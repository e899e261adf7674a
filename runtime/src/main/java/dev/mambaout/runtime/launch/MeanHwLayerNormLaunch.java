package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.HeadKernels;
import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.f32;
import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The head's global average pool fused with its LayerNorm: x [N,H,W,C] -> out [N,C] of x's dtype, or F32 x into
 * BF16 out (a bf16 program's f32 residual stream into the head MLP's operand); f32 weight/bias [C]. For training it
 * also writes what the LayerNorm's backward reads: the pooled rows (F32 [N,C]) and each image's mean and rstd (F32
 * [N]), together or not at all.
 */
public final class MeanHwLayerNormLaunch {

    private MeanHwLayerNormLaunch() {}

    private static KernelArg ptr(Tensor t) { return t == null ? KernelArg.ptr(0) : t.arg(); }

    /** Inference: out only. */
    public static Launch prepare(KernelModules m, Tensor out, Tensor x, Tensor weight, Tensor bias, double eps) {
        return prepare(m, out, null, null, null, x, weight, bias, eps);
    }

    /** out, and (training) pooled, mean and rstd: all three or none (null). */
    public static Launch prepare(KernelModules m, Tensor out, Tensor pooled, Tensor mean, Tensor rstd, Tensor x,
                                 Tensor weight, Tensor bias, double eps) {
        String k = "mean_hw_layernorm";
        LaunchChecks.rank(k, "x [N,H,W,C]", x, 4);
        LaunchChecks.activation(k, "x", x);
        boolean narrowing = x.dtype() == DType.F32 && out.dtype() == DType.BF16;
        if (!narrowing) LaunchChecks.dtype(k, "out", out, x.dtype());
        LaunchChecks.dtype(k, "weight", weight, DType.F32);
        LaunchChecks.dtype(k, "bias", bias, DType.F32);
        Shape s = x.shape();
        int n = s.dim(0), hw = Math.multiplyExact(s.dim(1), s.dim(2)), c = s.dim(3);
        if (!out.shape().equals(Shape.of(n, c))) {
            throw new IllegalArgumentException(k + ": out must be [" + n + ", " + c + "] for x " + s + ", was " + out.shape());
        }
        for (Tensor t : new Tensor[] {weight, bias}) {
            if (!t.shape().equals(Shape.of(c))) {
                throw new IllegalArgumentException(k + ": weight and bias must be [" + c + "], was " + t.shape());
            }
        }
        boolean stats = pooled != null;
        if (stats != (mean != null) || stats != (rstd != null)) {
            throw new IllegalArgumentException(k + ": pooled, mean and rstd go together (training) or are all null");
        }
        if (stats) {
            LaunchChecks.dtype(k, "pooled", pooled, DType.F32);
            LaunchChecks.dtype(k, "mean", mean, DType.F32);
            LaunchChecks.dtype(k, "rstd", rstd, DType.F32);
            if (!pooled.shape().equals(Shape.of(n, c)) || mean.numel() != n || rstd.numel() != n) {
                throw new IllegalArgumentException(k + ": pooled must be [" + n + ", " + c + "] and mean, rstd hold " + n
                        + " values, were " + pooled.shape() + ", " + mean.shape() + ", " + rstd.shape());
            }
            Tensor[] all = {out, pooled, mean, rstd, x};
            for (int i = 0; i < all.length; i++) {
                for (int j = i + 1; j < all.length; j++) {
                    if (all[i].overlaps(all[j])) throw new IllegalArgumentException(k + ": out, pooled, mean, rstd and x must not overlap");
                }
            }
        }
        if (!(eps > 0)) throw new IllegalArgumentException(k + ": eps must be positive, was " + eps);
        return m.prepare(narrowing ? KernelCatalog.MEAN_HW_LAYERNORM_F32_BF16 : LaunchChecks.byDtype(x.dtype(),
                        KernelCatalog.MEAN_HW_LAYERNORM_F32, KernelCatalog.MEAN_HW_LAYERNORM_BF16),
                HeadKernels.geometry(n, hw, c), out.arg(), ptr(pooled), ptr(mean), ptr(rstd), x.arg(),
                weight.arg(), bias.arg(), i32(n), i32(hw), i32(c), f32((float) eps));
    }
}
