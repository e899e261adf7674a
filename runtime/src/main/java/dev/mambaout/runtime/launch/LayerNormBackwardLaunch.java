package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.LayerNormKernels;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.LaunchSequence;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;
import static dev.mambaout.kernels.KernelArg.ptr;

/**
 * The backward of {@link LayerNormLaunch#prepareForward}, two kernels (layernorm.cu): layernorm_backward* writes dx
 * (or adds it, {@code accumulate}) and per-block partial sums of dWeight and dBias, then layernorm_backward_reduce
 * sums the partials in a fixed order: dWeight and dBias (F32 [C]) are overwritten, bit-identical run to run.
 *
 * <p>x (the forward's input) and dy are [tokens, C] over their last dimension, of the same shape; mean and rstd
 * (F32, one per token) are the statistics the forward wrote for x, not recomputed. Storage types (dy, x, dx):
 * <ul>
 *   <li>F32 F32 F32, written or accumulated: f32 programs;</li>
 *   <li>BF16 F32 F32, written or accumulated: bf16 programs' residual stream (x and its gradient stay f32; dy is the
 *       bf16 output of fc1's backward GEMM); accumulate for a block's LN, whose x also takes the shortcut's
 *       gradient, already in dx;</li>
 *   <li>F32 F32 BF16 and BF16 F32 BF16, written: an LN after a conv (f32 x by Lowering's activation rule), its dx the
 *       bf16 operand of the conv's backward GEMMs;</li>
 *   <li>BF16 BF16 BF16, written: a bf16 x (the MLP head's norm after its GELU), dx in x's dtype.</li>
 * </ul>
 * Accumulation needs an F32 dx (a bf16 sum would round at every accumulation; no bf16 tensor is a residual operand).
 * The workspace is F32 with at least {@link #workspaceFloats} elements, scratch owned by the caller. The kernels'
 * pointers are restrict: no output may overlap an input or another output.
 */
public final class LayerNormBackwardLaunch implements AutoCloseable {

    private final LaunchSequence launches;

    private LayerNormBackwardLaunch(LaunchSequence launches) { this.launches = launches; }

    /**
     * The kernel for dy, x and dx of these dtypes, accumulating or not; throws naming the supported combinations.
     */
    public static KernelSpec kernel(DType dy, DType x, DType dx, boolean accumulate) {
        KernelSpec s = null;
        if (x == DType.F32 && dx == DType.F32) {
            if (dy == DType.F32) {
                s = accumulate ? KernelCatalog.LAYERNORM_BACKWARD_F32_F32_F32_ACC : KernelCatalog.LAYERNORM_BACKWARD;
            } else if (dy == DType.BF16) {
                s = accumulate ? KernelCatalog.LAYERNORM_BACKWARD_BF16_F32_F32_ACC
                        : KernelCatalog.LAYERNORM_BACKWARD_BF16_F32_F32;
            }
        } else if (!accumulate && dx == DType.BF16) {
            if (x == DType.F32 && dy == DType.F32) s = KernelCatalog.LAYERNORM_BACKWARD_F32_F32_BF16;
            else if (x == DType.F32 && dy == DType.BF16) s = KernelCatalog.LAYERNORM_BACKWARD_BF16_F32_BF16;
            else if (x == DType.BF16 && dy == DType.BF16) s = KernelCatalog.LAYERNORM_BACKWARD_BF16_BF16_BF16;
        }
        if (s == null) {
            throw new IllegalArgumentException("layernorm backward: no kernel for dy " + dy + ", x " + x + ", dx " + dx
                    + (accumulate ? " accumulated (dx += )" : " written") + "; supported (dy, x, dx): F32 F32 F32 and"
                    + " BF16 F32 F32 written or accumulated, F32 F32 BF16, BF16 F32 BF16 and BF16 BF16 BF16 written"
                    + (accumulate && dx != DType.F32 ? " (accumulation needs an F32 dx)" : ""));
        }
        return s;
    }

    /** Rows per block of the default launch for x's shape on this device (one wave of 3 blocks per SM). */
    public static int rowsPerBlock(KernelModules modules, Shape x) {
        return LayerNormKernels.backwardRowsPerBlock(tokens("layernorm backward", x), modules.smCount());
    }

    /** F32 elements the workspace needs for x's shape with the default rows per block on this device. */
    public static long workspaceFloats(KernelModules modules, Shape x) {
        return workspaceFloats(x, rowsPerBlock(modules, x));
    }

    /** F32 elements the workspace needs for x's shape and {@code rowsPerBlock}: two [grid, C] partial buffers. */
    public static long workspaceFloats(Shape x, int rowsPerBlock) {
        return LayerNormKernels.backwardWorkspaceFloats(tokens("layernorm backward", x), x.channels(), rowsPerBlock);
    }

    /** The full {@code prepare} with the default rows per block. */
    public static LayerNormBackwardLaunch prepare(KernelModules modules, Tensor dx, Tensor dWeight, Tensor dBias,
                                                  Tensor workspace, Tensor dy, Tensor x, Tensor weight, Tensor mean,
                                                  Tensor rstd, boolean accumulate) {
        return prepare(modules, dx, dWeight, dBias, workspace, dy, x, weight, mean, rstd, accumulate, 0);
    }

    /**
     * dx (= or += the LayerNorm's input gradient), dWeight, dBias (overwritten) from dy, x, weight and the forward's
     * mean/rstd. {@code rowsPerBlock} 0 takes {@link #rowsPerBlock}; another positive value changes the number of
     * partial rows (the workspace must hold {@link #workspaceFloats(Shape, int)} for it).
     */
    public static LayerNormBackwardLaunch prepare(KernelModules modules, Tensor dx, Tensor dWeight, Tensor dBias,
                                                  Tensor workspace, Tensor dy, Tensor x, Tensor weight, Tensor mean,
                                                  Tensor rstd, boolean accumulate, int rowsPerBlock) {
        if (modules == null || dx == null || dWeight == null || dBias == null || workspace == null || dy == null
                || x == null || weight == null || mean == null || rstd == null) {
            throw new IllegalArgumentException("layernorm backward: modules, dx, dWeight, dBias, workspace, dy, x,"
                    + " weight, mean and rstd are required (mean and rstd: the forward's statistics)");
        }
        LaunchChecks.activation("layernorm backward", "x", x);
        LaunchChecks.activation("layernorm backward", "dy", dy);
        LaunchChecks.activation("layernorm backward", "dx", dx);
        KernelSpec spec = kernel(dy.dtype(), x.dtype(), dx.dtype(), accumulate);
        String k = spec.name();
        Shape xs = x.shape();
        int tokens = tokens(k, xs), c = xs.channels();
        if (!dy.shape().equals(xs)) throw new IllegalArgumentException(k + ": dy must be " + xs + " like x, was " + dy.shape());
        if (!dx.shape().equals(xs)) throw new IllegalArgumentException(k + ": dx must be " + xs + " like x, was " + dx.shape());
        checkF32(k, "weight", weight, c);
        checkF32(k, "dWeight", dWeight, c);
        checkF32(k, "dBias", dBias, c);
        checkStats(k, "mean", mean, tokens);
        checkStats(k, "rstd", rstd, tokens);
        if (rowsPerBlock < 0) throw new IllegalArgumentException(k + ": rowsPerBlock must be positive (0: default), was " + rowsPerBlock);
        int rows = rowsPerBlock == 0 ? LayerNormKernels.backwardRowsPerBlock(tokens, modules.smCount()) : rowsPerBlock;
        int partials = LayerNormKernels.backwardGrid(tokens, rows);
        long need = LayerNormKernels.backwardWorkspaceFloats(tokens, c, rows);
        if (workspace.dtype() != DType.F32 || workspace.numel() < need) {
            throw new IllegalArgumentException(k + ": workspace must be F32 with at least " + need + " elements (2 x "
                    + partials + " partial rows of " + c + "; workspaceFloats), was " + workspace.dtype() + " "
                    + workspace.shape());
        }
        long partialBytes = (long) partials * c * Float.BYTES;
        long dwp = workspace.address(), dbp = dwp + partialBytes;
        // The kernels' pointers are restrict: no output (the used part of the workspace included) may share memory
        // with an input or another output; dx += reads dx only where it writes it.
        long[][] ranges = {range(dx), range(dWeight), range(dBias), {dwp, 2 * partialBytes}, range(dy), range(x),
                range(weight), range(mean), range(rstd)};
        String[] names = {"dx", "dWeight", "dBias", "workspace", "dy", "x", "weight", "mean", "rstd"};
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < ranges.length; j++) {
                if (j != i && ranges[i][0] < ranges[j][0] + ranges[j][1] && ranges[j][0] < ranges[i][0] + ranges[i][1]) {
                    throw new IllegalArgumentException(k + ": " + names[i] + " overlaps " + names[j]
                            + "; the kernels do not run in place");
                }
            }
        }
        return new LayerNormBackwardLaunch(LaunchSequence.prepare(
                () -> modules.prepare(spec, LayerNormKernels.backward(tokens, rows), dx.arg(), ptr(dwp), ptr(dbp),
                        dy.arg(), x.arg(), weight.arg(), mean.arg(), rstd.arg(), i32(tokens), i32(c), i32(rows)),
                () -> modules.prepare(KernelCatalog.LAYERNORM_BACKWARD_REDUCE, LayerNormKernels.backwardReduce(c),
                        dWeight.arg(), dBias.arg(), ptr(dwp), ptr(dbp), i32(partials), i32(c))));
    }

    /** Queues both kernels on {@code stream} (the reduce after the main kernel, in stream order). */
    public void launch(Stream stream) { launches.launch(stream); }

    /** The main kernel (dx and the partial sums). */
    public Launch main() { return launches.get(0); }

    /** The reduce kernel (dWeight, dBias from the partial sums). */
    public Launch reduce() { return launches.get(1); }

    @Override
    public void close() { launches.close(); }

    private static int tokens(String kernel, Shape x) {
        if (x.rank() == 0) throw new IllegalArgumentException(kernel + ": x must have a channel dimension, was a scalar");
        long tokens = x.tokens();
        if (tokens > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(kernel + ": " + tokens + " tokens in " + x + " exceed the kernel's int N");
        }
        if (tokens == 0 || x.channels() == 0) throw new IllegalArgumentException(kernel + ": x " + x + " is empty");
        return (int) tokens;
    }

    private static void checkF32(String kernel, String name, Tensor t, int c) {
        if (t.dtype() != DType.F32 || t.shape().rank() != 1 || t.shape().dim(0) != c) {
            throw new IllegalArgumentException(kernel + ": " + name + " must be F32 [" + c + "], was " + t.dtype() + " "
                    + t.shape());
        }
    }

    private static void checkStats(String kernel, String name, Tensor t, long tokens) {
        if (t.dtype() != DType.F32 || t.numel() != tokens) {
            throw new IllegalArgumentException(kernel + ": " + name + " must be F32 with one value per token (" + tokens
                    + ", the forward's statistics), was " + t.dtype() + " " + t.shape());
        }
    }

    private static long[] range(Tensor t) { return new long[] {t.address(), t.bytes()}; }
}
