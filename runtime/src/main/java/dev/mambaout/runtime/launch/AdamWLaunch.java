package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.LaunchSequence;
import dev.mambaout.runtime.PinnedBuffer;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * One AdamW step over flat f32 buffers (adamw.cu): the global gradient norm (kept on the device), clipping by it, and
 * the update of every parameter in one pass, with an optional bf16 copy of the new weights. The three launches are
 * prepared once; {@link #launch} only queues them (no allocation, no host sync), so a training step can capture it in
 * a CUDA graph and replay it, the host writing new {@link AdamWKernels.Hyper} values (lr, step) into {@code hyper}
 * between replays (e.g. a captured copy from a pinned buffer, {@link #writeHyper}).
 *
 * <p>Buffers: params, grads, expAvg, expAvgSq are F32 with n elements each (any shape), paramsBf16 BF16 with n
 * elements or null; elements [0, decayCount) get weight decay ({@link AdamWKernels#plan} lays the parameters out
 * so); gradNorm F32 with one element, or null; hyper F64 with at least {@link AdamWKernels#HYPER_DOUBLES} elements;
 * workspace at least {@link AdamWKernels#WORKSPACE_BYTES} bytes, 16-byte aligned, owned by this step (its header
 * carries the clip scale and the step's scalars from the norm to the update). None of them may overlap.
 */
public final class AdamWLaunch implements AutoCloseable {

    private static final String K = "adamw";

    /** sumsq partials, finalize (norm, clip scale, the step's scalars), step. */
    private final LaunchSequence launches;

    private AdamWLaunch(LaunchSequence launches) { this.launches = launches; }

    public static AdamWLaunch prepare(KernelModules modules, Tensor params, Tensor grads, Tensor expAvg,
                                      Tensor expAvgSq, Tensor paramsBf16, Tensor gradNorm, Tensor hyper,
                                      Tensor workspace, long decayCount) {
        if (modules == null || params == null || grads == null || expAvg == null || expAvgSq == null || hyper == null
                || workspace == null) {
            throw new IllegalArgumentException(K + ": modules, params, grads, expAvg, expAvgSq, hyper and workspace are"
                    + " required (paramsBf16 and gradNorm may be null)");
        }
        long n = params.numel();
        if (n < 1 || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(K + ": params has " + n + " elements; the kernels take 1 to 2^31 - 1");
        }
        flat("params", params, DType.F32, n);
        flat("grads", grads, DType.F32, n);
        flat("expAvg", expAvg, DType.F32, n);
        flat("expAvgSq", expAvgSq, DType.F32, n);
        if (paramsBf16 != null) flat("paramsBf16", paramsBf16, DType.BF16, n);
        if (gradNorm != null && (gradNorm.dtype() != DType.F32 || gradNorm.numel() != 1)) {
            throw new IllegalArgumentException(K + ": gradNorm must be F32 with one element, was " + gradNorm.dtype()
                    + " " + gradNorm.shape());
        }
        if (hyper.dtype() != DType.F64 || hyper.numel() < AdamWKernels.HYPER_DOUBLES) {
            throw new IllegalArgumentException(K + ": hyper must be F64 with at least " + AdamWKernels.HYPER_DOUBLES
                    + " elements (AdamWKernels.HYPER_*), was " + hyper.dtype() + " " + hyper.shape());
        }
        if (workspace.bytes() < AdamWKernels.WORKSPACE_BYTES || workspace.address() % 16 != 0) {
            throw new IllegalArgumentException(K + ": workspace must hold at least " + AdamWKernels.WORKSPACE_BYTES
                    + " bytes at a 16-byte aligned address, was " + workspace.bytes() + " bytes at 0x"
                    + Long.toHexString(workspace.address()));
        }
        if (decayCount < 0 || decayCount > n) {
            throw new IllegalArgumentException(K + ": decayCount must be in [0, " + n + "], was " + decayCount);
        }
        String[] names = {"params", "grads", "expAvg", "expAvgSq", "paramsBf16", "gradNorm", "hyper", "workspace"};
        Tensor[] all = {params, grads, expAvg, expAvgSq, paramsBf16, gradNorm, hyper, workspace};
        for (int i = 0; i < all.length; i++) {
            for (int j = i + 1; j < all.length; j++) {
                if (all[i] != null && all[j] != null && all[i].overlaps(all[j])) {
                    throw new IllegalArgumentException(K + ": " + names[i] + " and " + names[j] + " overlap");
                }
            }
        }

        int count = (int) n;
        KernelArg ws = workspace.arg();
        return new AdamWLaunch(LaunchSequence.prepare(
                () -> modules.prepare(KernelCatalog.ADAMW_SUMSQ_PARTIAL, AdamWKernels.sumsq(count), ws, grads.arg(),
                        i32(count)),
                () -> modules.prepare(KernelCatalog.ADAMW_FINALIZE, AdamWKernels.finalizeNorm(), ws, ptrOrNull(gradNorm),
                        hyper.arg(), i32(AdamWKernels.sumsqGrid(count))),
                () -> modules.prepare(KernelCatalog.ADAMW_STEP, AdamWKernels.step(count), params.arg(), expAvg.arg(),
                        expAvgSq.arg(), ptrOrNull(paramsBf16), grads.arg(), ws, i32(count), i32((int) decayCount))));
    }

    /** Queues the whole step: norm partials, norm + clip scale + scalars, update. */
    public void launch(Stream stream) { launches.launch(stream); }

    /** Queues only the gradient norm (and the step's scalars into the workspace), e.g. to log it without updating. */
    public void launchGradNorm(Stream stream) { launches.launchFirst(2, stream); }

    /** Writes {@code h} into {@code staging}'s first {@link AdamWKernels#HYPER_BYTES} bytes, ready to copy to hyper. */
    public static void writeHyper(PinnedBuffer staging, AdamWKernels.Hyper h) {
        if (staging.bytes() < AdamWKernels.HYPER_BYTES) {
            throw new IllegalArgumentException(K + ": the staging buffer holds " + staging.bytes() + " bytes, the"
                    + " hyperparameters need " + AdamWKernels.HYPER_BYTES);
        }
        double[] d = h.toArray();
        for (int i = 0; i < d.length; i++) staging.setLong(i, Double.doubleToRawLongBits(d[i]));
    }

    private static void flat(String what, Tensor t, DType want, long n) {
        if (t.dtype() != want || t.numel() != n) {
            throw new IllegalArgumentException(K + ": " + what + " must be " + want + " with " + n
                    + " elements (params'), was " + t.dtype() + " " + t.shape());
        }
    }

    private static KernelArg ptrOrNull(Tensor t) { return KernelArg.ptr(t == null ? 0L : t.address()); }

    @Override
    public void close() { launches.close(); }
}
