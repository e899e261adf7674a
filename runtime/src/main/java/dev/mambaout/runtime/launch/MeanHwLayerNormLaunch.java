package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.HeadKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.f32;
import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The head's global average pool fused with its LayerNorm: x [N,H,W,C] -> out [N,C] of x's dtype, or F32 x into
 * BF16 out (a bf16 program's f32 residual stream into the head MLP's operand); f32 weight/bias [C].
 */
public final class MeanHwLayerNormLaunch {

    private MeanHwLayerNormLaunch() {}

    public static Launch prepare(KernelModules m, Tensor out, Tensor x, Tensor weight, Tensor bias, double eps) {
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
        if (!(eps > 0)) throw new IllegalArgumentException(k + ": eps must be positive, was " + eps);
        return m.prepare(narrowing ? KernelCatalog.MEAN_HW_LAYERNORM_F32_BF16 : LaunchChecks.byDtype(x.dtype(),
                        KernelCatalog.MEAN_HW_LAYERNORM_F32, KernelCatalog.MEAN_HW_LAYERNORM_BF16),
                HeadKernels.geometry(n, hw, c), out.arg(), x.arg(),
                weight.arg(), bias.arg(), i32(n), i32(hw), i32(c), f32((float) eps));
    }
}
