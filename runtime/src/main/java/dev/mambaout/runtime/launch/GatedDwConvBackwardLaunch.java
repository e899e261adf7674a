package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.GatedDwConvKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.LaunchSequence;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The backward of {@link GatedDwConvLaunch}'s fused depthwise conv + gating, two kernels (gated_dwconv.cu, BACKWARD):
 * from x [N,H,W,2*hidden] = (g | i | c) and dy [N,H,W,hidden] (both F32 or both BF16) it writes
 * dx [N,H,W,2*hidden] = (dg | di | dc) in x's type, and dWeight [k*k, convChannels] (tap-major, the forward's packed
 * layout) and dBias [convChannels], both F32, overwritten (not accumulated). The conv output is recomputed from x, the
 * packed weight and the bias. The workspace is an F32 tensor of at least {@link #workspaceFloats} elements that the
 * caller owns (contents are scratch; nothing else may use it while the launches run); results are deterministic
 * (fixed-order sums, no atomics). k = 1, 3, 5 or 7.
 */
public final class GatedDwConvBackwardLaunch implements AutoCloseable {

    private final LaunchSequence launches;

    private GatedDwConvBackwardLaunch(LaunchSequence launches) { this.launches = launches; }

    /** F32 elements the workspace needs for x [n,h,w,2*hidden] with convChannels and kernelSize. */
    public static long workspaceFloats(int n, int h, int w, int convChannels, int kernelSize) {
        return GatedDwConvKernels.backwardWorkspaceFloats(n, h, w, convChannels, kernelSize);
    }

    /** {@link #workspaceFloats(int, int, int, int, int)} for x's shape. */
    public static long workspaceFloats(Shape x, int convChannels, int kernelSize) {
        if (x.rank() != 4) throw fail("x must be NHWC [N,H,W,2*hidden], was " + x);
        return workspaceFloats(x.dim(0), x.dim(1), x.dim(2), convChannels, kernelSize);
    }

    public static GatedDwConvBackwardLaunch prepare(KernelModules modules, Tensor dx, Tensor dWeight, Tensor dBias,
                                                    Tensor workspace, Tensor x, Tensor dy, Tensor weightPacked,
                                                    Tensor bias, int convChannels, int kernelSize, Activation act) {
        if (modules == null || dx == null || dWeight == null || dBias == null || workspace == null || x == null
                || dy == null || weightPacked == null || bias == null || act == null) {
            throw fail("modules, dx, dWeight, dBias, workspace, x, dy, weightPacked, bias and act are required");
        }
        if (x.dtype() != DType.F32 && x.dtype() != DType.BF16) throw fail("x must be F32 or BF16, was " + x.dtype());
        KernelSpec spec = x.dtype() == DType.F32 ? KernelCatalog.GATED_DWCONV_BACKWARD_F32
                : KernelCatalog.GATED_DWCONV_BACKWARD_BF16;
        if (dy.dtype() != x.dtype()) throw fail(spec, "dy is " + dy.dtype() + " but x is " + x.dtype());
        if (dx.dtype() != x.dtype()) throw fail(spec, "dx is " + dx.dtype() + " but x is " + x.dtype());
        Shape xs = x.shape();
        if (xs.rank() != 4) throw fail(spec, "x must be NHWC [N,H,W,2*hidden], was " + xs);
        int n = xs.dim(0), h = xs.dim(1), w = xs.dim(2), twice = xs.dim(3);
        if (twice % 2 != 0) throw fail(spec, "x's channels must be 2*hidden, an even number, was " + twice);
        int hidden = twice / 2;
        if (!dx.shape().equals(xs)) throw fail(spec, "dx must be " + xs + " like x, was " + dx.shape());
        Shape ys = Shape.nhwc(n, h, w, hidden);
        if (!dy.shape().equals(ys)) throw fail(spec, "dy must be " + ys + " for x " + xs + ", was " + dy.shape());
        if (convChannels < 1 || convChannels > hidden) {
            throw fail(spec, "convChannels must be in [1, hidden = " + hidden + "], was " + convChannels);
        }
        if (kernelSize < 1 || kernelSize % 2 == 0 || kernelSize > GatedDwConvKernels.BACKWARD_MAX_K) {
            throw fail(spec, "kernelSize must be 1, 3, 5 or 7, was " + kernelSize);
        }
        Shape wsh = Shape.of(kernelSize * kernelSize, convChannels);
        checkF32(spec, "weightPacked", weightPacked, wsh, " (tap-major)");
        checkF32(spec, "bias", bias, Shape.of(convChannels), "");
        checkF32(spec, "dWeight", dWeight, wsh, " (tap-major)");
        checkF32(spec, "dBias", dBias, Shape.of(convChannels), "");
        long need = workspaceFloats(n, h, w, convChannels, kernelSize);
        if (workspace.dtype() != DType.F32 || workspace.numel() < need) {
            throw fail(spec, "workspace must be F32 with at least " + need + " elements (workspaceFloats), was "
                    + workspace.dtype() + " " + workspace.shape());
        }
        if ((long) h * w * twice >= Integer.MAX_VALUE) {
            throw fail(spec, "one image of x (" + h + " x " + w + " x " + twice + " values) must stay below 2^31"
                    + " elements (the kernel's offsets inside an image are 32-bit)");
        }
        // The kernels' pointers are restrict: no output may overlap an input or another output.
        Tensor[] outs = {dx, dWeight, dBias, workspace};
        String[] outNames = {"dx", "dWeight", "dBias", "workspace"};
        Tensor[] all = {dx, dWeight, dBias, workspace, x, dy, weightPacked, bias};
        String[] allNames = {"dx", "dWeight", "dBias", "workspace", "x", "dy", "weightPacked", "bias"};
        for (int i = 0; i < outs.length; i++) {
            for (int j = 0; j < all.length; j++) {
                if (j != i && outs[i].overlaps(all[j])) {
                    throw fail(spec, outNames[i] + " overlaps " + allNames[j] + "; the kernels do not run in place");
                }
            }
        }
        int stripRows = GatedDwConvKernels.backwardStripRows(n, h, w, convChannels);
        int splits = GatedDwConvKernels.backwardSplits(n, h, w, convChannels);
        return new GatedDwConvBackwardLaunch(LaunchSequence.prepare(
                () -> modules.prepare(spec,
                        GatedDwConvKernels.backwardGeometry(n, h, w, hidden, convChannels, kernelSize, x.dtype().bytes()),
                        dx.arg(), workspace.arg(), x.arg(), dy.arg(), weightPacked.arg(), bias.arg(), i32(n), i32(h),
                        i32(w), i32(hidden), i32(convChannels), i32(kernelSize), i32(act.ordinal()), i32(stripRows),
                        i32(splits)),
                () -> modules.prepare(KernelCatalog.GATED_DWCONV_BACKWARD_REDUCE,
                        GatedDwConvKernels.backwardReduceGeometry(convChannels, kernelSize), dWeight.arg(), dBias.arg(),
                        workspace.arg(), i32(splits), i32(convChannels), i32(kernelSize))));
    }

    /** Queues both kernels on {@code stream} (the reduce after the main kernel, in stream order). */
    public void launch(Stream stream) { launches.launch(stream); }

    /** The main kernel (dx and the partial sums). */
    public Launch main() { return launches.get(0); }

    /** The reduce kernel (dWeight, dBias from the partial sums). */
    public Launch reduce() { return launches.get(1); }

    @Override
    public void close() { launches.close(); }

    private static void checkF32(KernelSpec spec, String name, Tensor t, Shape want, String note) {
        if (t.dtype() != DType.F32 || !t.shape().equals(want)) {
            throw fail(spec, name + " must be F32 " + want + note + ", was " + t.dtype() + " " + t.shape());
        }
    }

    private static IllegalArgumentException fail(String why) {
        return new IllegalArgumentException("gated_dwconv_backward: " + why);
    }

    private static IllegalArgumentException fail(KernelSpec spec, String why) {
        return new IllegalArgumentException(spec.name() + ": " + why);
    }
}
