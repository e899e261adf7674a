package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.GatedDwConvKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The fused depthwise conv + gating forward of a MambaOut block: out [N,H,W,hidden] = act(g) * cat(i, dwconv(c) + bias)
 * from x [N,H,W,2*hidden] = (g | i | c), in one kernel (gated_dwconv.cu: the rings kernel for k = 7 on 16-byte
 * units and aligned pointers, else the column kernel; {@link GatedDwConvKernels#forward} decides). x and out are both
 * F32 or both BF16; the
 * weight is F32 packed tap-major [k*k, convChannels] ({@link GatedDwConvKernels#packTapMajor} from PyTorch's
 * [C,1,k,k]), the bias F32 [convChannels].
 */
public final class GatedDwConvLaunch {

    private GatedDwConvLaunch() {}

    public static Launch prepare(KernelModules modules, Tensor out, Tensor x, Tensor weightPacked, Tensor bias,
                                 int convChannels, int kernelSize, Activation act) {
        if (x.dtype() != DType.F32 && x.dtype() != DType.BF16) {
            throw fail("x must be F32 or BF16, was " + x.dtype());
        }
        if (out.dtype() != x.dtype()) throw fail("out is " + out.dtype() + " but x is " + x.dtype());
        KernelSpec spec = x.dtype() == DType.F32 ? KernelCatalog.GATED_DWCONV_FORWARD_F32
                : KernelCatalog.GATED_DWCONV_FORWARD_BF16;
        Shape xs = x.shape();
        if (xs.rank() != 4) throw fail(spec, "x must be NHWC [N,H,W,2*hidden], was " + xs);
        int n = xs.dim(0), h = xs.dim(1), w = xs.dim(2), twice = xs.dim(3);
        if (twice % 2 != 0) throw fail(spec, "x's channels must be 2*hidden, an even number, was " + twice);
        int hidden = twice / 2;
        if (!out.shape().equals(Shape.nhwc(n, h, w, hidden))) {
            throw fail(spec, "out must be " + Shape.nhwc(n, h, w, hidden) + " for x " + xs + ", was " + out.shape());
        }
        if (convChannels < 1 || convChannels > hidden) {
            throw fail(spec, "convChannels must be in [1, hidden = " + hidden + "], was " + convChannels);
        }
        if (kernelSize < 1 || kernelSize % 2 == 0) throw fail(spec, "kernelSize must be odd and positive, was " + kernelSize);
        Shape ws = Shape.of(kernelSize * kernelSize, convChannels);
        if (weightPacked.dtype() != DType.F32 || !weightPacked.shape().equals(ws)) {
            throw fail(spec, "weightPacked must be F32 " + ws + " (tap-major), was " + weightPacked.dtype() + " "
                    + weightPacked.shape());
        }
        if (bias.dtype() != DType.F32 || !bias.shape().equals(Shape.of(convChannels))) {
            throw fail(spec, "bias must be F32 [" + convChannels + "], was " + bias.dtype() + " " + bias.shape());
        }
        if ((long) h * w * twice >= Integer.MAX_VALUE) {
            throw fail(spec, "one image of x (" + h + " x " + w + " x " + twice + " values) must stay below 2^31"
                    + " elements (the kernel's offsets inside an image are 32-bit)");
        }
        boolean aligned = x.address() % 16 == 0 && out.address() % 16 == 0;
        GatedDwConvKernels.ForwardPlan plan = GatedDwConvKernels.forward(n, h, w, hidden, convChannels, kernelSize,
                x.dtype().bytes(), aligned, modules.smCount());
        if (plan.variant() == GatedDwConvKernels.Variant.RINGS) {
            KernelSpec rings = x.dtype() == DType.F32
                    ? (plan.columns() == 1 ? KernelCatalog.GATED_DWCONV_FORWARD_RINGS_F32_C1
                            : KernelCatalog.GATED_DWCONV_FORWARD_RINGS_F32_C4)
                    : (plan.columns() == 1 ? KernelCatalog.GATED_DWCONV_FORWARD_RINGS_BF16_C1
                            : KernelCatalog.GATED_DWCONV_FORWARD_RINGS_BF16_C4);
            return modules.prepare(rings, plan.geometry(), out.arg(), x.arg(), weightPacked.arg(), bias.arg(), i32(n),
                    i32(h), i32(w), i32(hidden), i32(convChannels), i32(act.ordinal()), i32(plan.stripRows()));
        }
        return modules.prepare(spec, plan.geometry(), out.arg(), x.arg(), weightPacked.arg(), bias.arg(), i32(n),
                i32(h), i32(w), i32(hidden), i32(convChannels), i32(kernelSize), i32(act.ordinal()),
                i32(plan.stripRows()));
    }

    private static IllegalArgumentException fail(String why) {
        return new IllegalArgumentException("gated_dwconv_forward: " + why);
    }

    private static IllegalArgumentException fail(KernelSpec spec, String why) {
        return new IllegalArgumentException(spec.name() + ": " + why);
    }
}
