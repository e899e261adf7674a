package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.LayerScaleKernels;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The LayerScale residual of timm's {@code _rw} MambaOut blocks (layerscale.cu): out = shortcut + gamma[c] * x over
 * x [..., C] (fc2's output, F32 or BF16), with shortcut, out (the residual stream) and gamma [C] F32. out may be
 * shortcut itself (the stream updated in place) but must not otherwise overlap an input.
 */
public final class LayerScaleLaunch {

    private LayerScaleLaunch() {}

    public static Launch prepare(KernelModules modules, Tensor out, Tensor shortcut, Tensor x, Tensor gamma) {
        if (modules == null || out == null || shortcut == null || x == null || gamma == null) {
            throw new IllegalArgumentException("layerscale forward: modules, out, shortcut, x and gamma are required");
        }
        LaunchChecks.activation("layerscale forward", "x", x);
        KernelSpec spec = LaunchChecks.byDtype(x.dtype(), KernelCatalog.LAYERSCALE_RESIDUAL_FORWARD_F32,
                KernelCatalog.LAYERSCALE_RESIDUAL_FORWARD_BF16);
        String k = spec.name();
        Shape xs = x.shape();
        int tokens = tokens(k, xs), c = xs.channels();
        checkF32(k, "shortcut", shortcut, xs, " like x");
        checkF32(k, "out", out, xs, " like x");
        checkF32(k, "gamma", gamma, Shape.of(c), "");
        boolean inPlace = out.address() == shortcut.address();
        if (!inPlace && out.overlaps(shortcut)) {
            throw new IllegalArgumentException(k + ": out overlaps shortcut without being it (in place means out ="
                    + " shortcut, the same address)");
        }
        if (out.overlaps(x)) throw new IllegalArgumentException(k + ": out overlaps x");
        if (out.overlaps(gamma)) throw new IllegalArgumentException(k + ": out overlaps gamma");
        return modules.prepare(spec, LayerScaleKernels.forward(tokens, c), out.arg(), shortcut.arg(), x.arg(),
                gamma.arg(), i32(tokens), i32(c));
    }

    /** Tokens of x [..., C], checked against the kernels' 32-bit indices (tokens x C below 2^31). */
    static int tokens(String kernel, Shape x) {
        if (x.rank() == 0) throw new IllegalArgumentException(kernel + ": x must have a channel dimension, was a scalar");
        if (x.numel() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(kernel + ": x " + x + " has " + x.numel()
                    + " elements, more than the kernels' 32-bit indices allow (2^31 - 1)");
        }
        return (int) x.tokens();
    }

    static void checkF32(String kernel, String name, Tensor t, Shape want, String note) {
        if (t.dtype() != DType.F32 || !t.shape().equals(want)) {
            throw new IllegalArgumentException(kernel + ": " + name + " must be F32 " + want + note + ", was "
                    + t.dtype() + " " + t.shape());
        }
    }
}
