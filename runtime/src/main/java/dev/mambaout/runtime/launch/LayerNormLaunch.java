package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.LayerNormKernels;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

/** Typed launches of the layernorm family: shapes and dtypes checked here, so a wrong view fails before the GPU. */
public final class LayerNormLaunch {

    private LayerNormLaunch() {}

    /**
     * LayerNorm over the last dimension of {@code x}, seen as [tokens, C] (tokens = every other dimension):
     * layernorm_forward for F32 x/out, layernorm_forward_bf16 for BF16 (f32 math and statistics, out rounded once),
     * layernorm_forward_f32_bf16 for F32 x and BF16 out (a bf16 program's f32 residual stream into a GEMM operand).
     * {@code out} has x's shape and must not overlap it (the kernel's pointers are restrict); weight and bias
     * are F32 [C]; mean and rstd are F32 with one value per token, or null when not wanted (inference).
     */
    public static Launch prepareForward(KernelModules modules, Tensor out, Tensor mean, Tensor rstd, Tensor x,
                                        Tensor weight, Tensor bias, double eps) {
        if (modules == null || out == null || x == null || weight == null || bias == null) {
            throw new IllegalArgumentException("layernorm forward: modules, out, x, weight and bias are required");
        }
        KernelSpec spec = switch (x.dtype()) {
            case F32 -> out.dtype() == DType.BF16 ? KernelCatalog.LAYERNORM_FORWARD_F32_BF16 : KernelCatalog.LAYERNORM_FORWARD;
            case BF16 -> KernelCatalog.LAYERNORM_FORWARD_BF16;
            default -> throw new IllegalArgumentException("layernorm forward: x must be F32 or BF16, was " + x.dtype());
        };
        String k = spec.name();
        if (x.shape().rank() == 0) throw new IllegalArgumentException(k + ": x must have a channel dimension, was a scalar");
        int c = x.shape().channels();
        long tokens = x.shape().tokens();
        if (tokens > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(k + ": " + tokens + " tokens in " + x.shape() + " exceed the kernel's int N");
        }
        DType outType = spec == KernelCatalog.LAYERNORM_FORWARD_F32_BF16 ? DType.BF16 : x.dtype();
        if (!out.shape().equals(x.shape()) || out.dtype() != outType) {
            throw new IllegalArgumentException(k + ": out must be " + outType + " " + x.shape() + " for x, was "
                    + out.dtype() + " " + out.shape());
        }
        if (out.overlaps(x)) {
            throw new IllegalArgumentException(k + ": out overlaps x; the kernel does not run in place");
        }
        checkVector(k, "weight", weight, c);
        checkVector(k, "bias", bias, c);
        checkStats(k, "mean", mean, tokens);
        checkStats(k, "rstd", rstd, tokens);
        if (!(eps > 0) || !Float.isFinite((float) eps)) {
            throw new IllegalArgumentException(k + ": eps must be positive and finite in float, was " + eps);
        }
        int n = (int) tokens;
        return modules.prepare(spec, LayerNormKernels.forward(n, c, x.dtype().bytes()), out.arg(), ptrOrNull(mean),
                ptrOrNull(rstd), x.arg(), weight.arg(), bias.arg(), KernelArg.i32(n), KernelArg.i32(c),
                KernelArg.f32((float) eps));
    }

    private static void checkVector(String kernel, String name, Tensor t, int c) {
        if (t.dtype() != DType.F32 || t.shape().rank() != 1 || t.shape().dim(0) != c) {
            throw new IllegalArgumentException(kernel + ": " + name + " must be F32 [" + c + "], was " + t.dtype() + " "
                    + t.shape());
        }
    }

    private static void checkStats(String kernel, String name, Tensor t, long tokens) {
        if (t != null && (t.dtype() != DType.F32 || t.numel() != tokens)) {
            throw new IllegalArgumentException(kernel + ": " + name + " must be F32 with one value per token (" + tokens
                    + "), was " + t.dtype() + " " + t.shape());
        }
    }

    private static KernelArg ptrOrNull(Tensor t) { return KernelArg.ptr(t == null ? 0L : t.address()); }
}
