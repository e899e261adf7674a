package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.LayerScaleKernels;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.LaunchSequence;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The backward of {@link LayerScaleLaunch}, two kernels (layerscale.cu): from dy (F32, the residual stream's
 * gradient) and x [..., C] (F32 or BF16), layerscale_backward_* writes dx = gamma[c] * dy in x's dtype and per-block
 * partial sums of dy * x, then layerscale_backward_finalize sums them in a fixed order into dGamma (F32 [C]),
 * overwriting it or, with {@code accumulate}, adding to it (gradient accumulation). Bit-identical run to run. The
 * workspace is F32 with at least {@link #workspaceFloats} elements, scratch owned by the caller. The kernels'
 * pointers are restrict: no output may overlap an input or another output.
 */
public final class LayerScaleBackwardLaunch implements AutoCloseable {

    private final LaunchSequence launches;

    private LayerScaleBackwardLaunch(LaunchSequence launches) { this.launches = launches; }

    /** F32 elements the workspace needs for x's shape: partial [blocks, C]. */
    public static long workspaceFloats(Shape x) {
        int tokens = LayerScaleLaunch.tokens("layerscale backward", x);
        return LayerScaleKernels.backwardWorkspaceFloats(tokens, x.channels());
    }

    public static LayerScaleBackwardLaunch prepare(KernelModules modules, Tensor dx, Tensor dGamma, Tensor workspace,
                                                   Tensor dy, Tensor x, Tensor gamma, boolean accumulate) {
        if (modules == null || dx == null || dGamma == null || workspace == null || dy == null || x == null
                || gamma == null) {
            throw new IllegalArgumentException("layerscale backward: modules, dx, dGamma, workspace, dy, x and gamma"
                    + " are required");
        }
        LaunchChecks.activation("layerscale backward", "x", x);
        KernelSpec spec = LaunchChecks.byDtype(x.dtype(), KernelCatalog.LAYERSCALE_BACKWARD_F32,
                KernelCatalog.LAYERSCALE_BACKWARD_BF16);
        String k = spec.name();
        Shape xs = x.shape();
        int tokens = LayerScaleLaunch.tokens(k, xs), c = xs.channels();
        if (dx.dtype() != x.dtype() || !dx.shape().equals(xs)) {
            throw new IllegalArgumentException(k + ": dx must be " + x.dtype() + " " + xs + " like x, was " + dx.dtype()
                    + " " + dx.shape());
        }
        LayerScaleLaunch.checkF32(k, "dy", dy, xs, " like x (the residual stream's gradient)");
        LayerScaleLaunch.checkF32(k, "gamma", gamma, Shape.of(c), "");
        LayerScaleLaunch.checkF32(k, "dGamma", dGamma, Shape.of(c), "");
        int blocks = LayerScaleKernels.backwardBlocks(tokens, c);
        long need = LayerScaleKernels.backwardWorkspaceFloats(tokens, c);
        if (workspace.dtype() != DType.F32 || workspace.numel() < need) {
            throw new IllegalArgumentException(k + ": workspace must be F32 with at least " + need + " elements ("
                    + blocks + " partial rows of " + c + "; workspaceFloats), was " + workspace.dtype() + " "
                    + workspace.shape());
        }
        long[][] ranges = {range(dx), range(dGamma), {workspace.address(), need * Float.BYTES}, range(dy), range(x),
                range(gamma)};
        String[] names = {"dx", "dGamma", "workspace", "dy", "x", "gamma"};
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < ranges.length; j++) {
                if (j != i && ranges[i][0] < ranges[j][0] + ranges[j][1] && ranges[j][0] < ranges[i][0] + ranges[i][1]) {
                    throw new IllegalArgumentException(k + ": " + names[i] + " overlaps " + names[j]
                            + "; the kernels do not run in place");
                }
            }
        }
        return new LayerScaleBackwardLaunch(LaunchSequence.prepare(
                () -> modules.prepare(spec, LayerScaleKernels.backward(tokens, c), dx.arg(), workspace.arg(),
                        dy.arg(), x.arg(), gamma.arg(), i32(tokens), i32(c)),
                () -> modules.prepare(KernelCatalog.LAYERSCALE_BACKWARD_FINALIZE, LayerScaleKernels.finalizeGeometry(c),
                        dGamma.arg(), workspace.arg(), i32(blocks), i32(c), i32(accumulate ? 1 : 0))));
    }

    /** Queues both kernels on {@code stream} (the finalize after the main kernel, in stream order). */
    public void launch(Stream stream) { launches.launch(stream); }

    @Override
    public void close() { launches.close(); }

    private static long[] range(Tensor t) { return new long[] {t.address(), t.bytes()}; }
}
