package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.StemKernels;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.f32;
import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The stem's first conv (3x3) from the user's NCHW f32 batch, its bias, an optional LayerNorm over the output channels
 * and the activation, in one kernel (stem.cu), writing NHWC F32 or BF16. {@code packed} is F32
 * [{@link StemKernels#packedLength}] from {@link StemKernels#pack}.
 */
public final class StemLaunch {

    private StemLaunch() {}

    public static Launch prepare(KernelModules modules, Tensor out, Tensor x, Tensor packed, int outChannels, int stride,
                                 int padding, boolean norm, double eps, Activation act) {
        String k = "stem_conv_forward";
        LaunchChecks.rank(k, "x", x, 4);
        LaunchChecks.dtype(k, "x", x, DType.F32);
        LaunchChecks.activation(k, "out", out);
        LaunchChecks.dtype(k, "packed", packed, DType.F32);
        int n = x.shape().dim(0), c = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        if (!StemKernels.supports(c, outChannels, StemKernels.KERNEL_SIZE)) {
            throw new IllegalArgumentException(k + ": no fused stem for " + c + " -> " + outChannels + " channels"
                    + " (widths " + StemKernels.widths() + ", packed weights within 48 KB of shared memory)");
        }
        int width = StemKernels.width(outChannels);
        int ho = Im2colKernels.outSize(h, StemKernels.KERNEL_SIZE, stride, padding);
        int wo = Im2colKernels.outSize(w, StemKernels.KERNEL_SIZE, stride, padding);
        Shape want = Shape.nhwc(n, ho, wo, outChannels);
        if (!out.shape().equals(want)) {
            throw new IllegalArgumentException(k + ": out must be " + want + " for x " + x.shape() + ", was " + out.shape());
        }
        if (packed.numel() != StemKernels.packedLength(c, width)) {
            throw new IllegalArgumentException(k + ": packed must hold " + StemKernels.packedLength(c, width)
                    + " floats for " + c + " input channels at width " + width + ", was " + packed.shape());
        }
        KernelSpec spec = KernelCatalog.stemConvForward(out.dtype() == DType.BF16, width);
        // The kernel's act codes are Activation's ordinals: 0 = GELU, 1 = SILU.
        return modules.prepare(spec, StemKernels.geometry((long) n * ho * wo, c, width), out.arg(), x.arg(),
                packed.arg(), i32(n), i32(c), i32(h), i32(w), i32(ho), i32(wo), i32(outChannels), i32(stride),
                i32(padding), i32(norm ? 1 : 0), i32(act.ordinal()), f32((float) eps));
    }
}
