package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.DropPathRng;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.kernels.DropPathKernels;
import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.f32;
import static dev.mambaout.kernels.KernelArg.i32;
import static dev.mambaout.kernels.KernelArg.i64;

/**
 * Stochastic depth on a residual branch (droppath.cu), the masks drawn on the device from {@code DropPathRng}'s key:
 * (seed, the step in {@code hyper}'s {@link AdamWKernels#HYPER_STEP} slot, block, sample). The step is read when the
 * kernel runs, so a launch captured in a CUDA graph draws the mask of whatever step the host last wrote.
 * <ul>
 *   <li>{@link #prepareForward}: out = shortcut + scale[n] * gamma[c] * x, x [N, ..., C] F32 or BF16 (gamma F32 [C],
 *       or null without LayerScale), shortcut and out F32 like x; out may be shortcut itself.</li>
 *   <li>{@link #prepareBackward}: dx = scale[n] * dy, dy F32, dx F32 or BF16; no overlap.</li>
 * </ul>
 */
public final class DropPathLaunch {

    private DropPathLaunch() {}

    public static Launch prepareForward(KernelModules modules, Tensor out, Tensor shortcut, Tensor x, Tensor gamma,
                                        Tensor hyper, long seed, int block, double rate) {
        if (modules == null || out == null || shortcut == null || x == null || hyper == null) {
            throw new IllegalArgumentException("droppath forward: modules, out, shortcut, x and hyper are required");
        }
        LaunchChecks.activation("droppath forward", "x", x);
        KernelSpec spec = LaunchChecks.byDtype(x.dtype(), KernelCatalog.DROPPATH_RESIDUAL_FORWARD_F32,
                KernelCatalog.DROPPATH_RESIDUAL_FORWARD_BF16);
        String k = spec.name();
        Shape xs = x.shape();
        int samples = samples(k, xs), c = xs.channels();
        long per = xs.numel() / samples;
        LayerScaleLaunch.checkF32(k, "shortcut", shortcut, xs, " like x");
        LayerScaleLaunch.checkF32(k, "out", out, xs, " like x");
        if (gamma != null) LayerScaleLaunch.checkF32(k, "gamma", gamma, Shape.of(c), "");
        checkHyper(k, hyper);
        if (out.address() != shortcut.address() && out.overlaps(shortcut)) {
            throw new IllegalArgumentException(k + ": out overlaps shortcut without being it (in place means out ="
                    + " shortcut, the same address)");
        }
        for (Tensor t : new Tensor[] {x, gamma, hyper}) {
            if (t != null && out.overlaps(t)) throw new IllegalArgumentException(k + ": out overlaps an input");
        }
        return modules.prepare(spec, DropPathKernels.geometry(samples, per), out.arg(), shortcut.arg(), x.arg(),
                gamma == null ? KernelArg.ptr(0) : gamma.arg(), hyper.arg(), i64(seed), i32(block(k, block)),
                i64(DropPathRng.keepThreshold(rate)), f32((float) DropPathRng.keepScale(rate)), i32((int) per), i32(c));
    }

    public static Launch prepareBackward(KernelModules modules, Tensor dx, Tensor dy, Tensor hyper, long seed, int block,
                                         double rate) {
        if (modules == null || dx == null || dy == null || hyper == null) {
            throw new IllegalArgumentException("droppath backward: modules, dx, dy and hyper are required");
        }
        LaunchChecks.activation("droppath backward", "dx", dx);
        KernelSpec spec = LaunchChecks.byDtype(dx.dtype(), KernelCatalog.DROPPATH_BACKWARD_F32,
                KernelCatalog.DROPPATH_BACKWARD_BF16);
        String k = spec.name();
        Shape s = dx.shape();
        int samples = samples(k, s);
        long per = s.numel() / samples;
        LayerScaleLaunch.checkF32(k, "dy", dy, s, " like dx (the residual stream's gradient)");
        checkHyper(k, hyper);
        if (dx.overlaps(dy) || dx.overlaps(hyper)) throw new IllegalArgumentException(k + ": dx overlaps an input");
        return modules.prepare(spec, DropPathKernels.geometry(samples, per), dx.arg(), dy.arg(), hyper.arg(), i64(seed),
                i32(block(k, block)), i64(DropPathRng.keepThreshold(rate)), f32((float) DropPathRng.keepScale(rate)),
                i32((int) per));
    }

    private static int samples(String kernel, Shape s) {
        if (s.rank() < 2) throw new IllegalArgumentException(kernel + ": the branch must be [N, ..., C], was " + s);
        return s.dim(0);
    }

    private static int block(String kernel, int block) {
        if (block < 0) throw new IllegalArgumentException(kernel + ": block must be >= 0, was " + block);
        return block;
    }

    private static void checkHyper(String kernel, Tensor hyper) {
        if (hyper.dtype() != DType.F64 || hyper.numel() < AdamWKernels.HYPER_DOUBLES) {
            throw new IllegalArgumentException(kernel + ": hyper must be F64 with at least " + AdamWKernels.HYPER_DOUBLES
                    + " elements (the step at AdamWKernels.HYPER_STEP), was " + hyper.dtype() + " " + hyper.shape());
        }
    }
}
