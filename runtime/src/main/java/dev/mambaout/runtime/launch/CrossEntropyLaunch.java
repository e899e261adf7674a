package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.CrossEntropyKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.LaunchSequence;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.f32;
import static dev.mambaout.kernels.KernelArg.i32;

/**
 * The training loss, forward and backward: graph's CrossEntropy and CrossEntropyBackward (PyTorch's cross_entropy
 * with label smoothing, mean over the batch) as two prepared launches, {@link #rows()} then {@link #mean()}:
 * <ul>
 *   <li>cross_entropy_{f32,bf16}: logits [N, K] F32 or BF16, labels I32 [N] -> lossRows F32 [N] and dLogits [N, K]
 *       of the logits' dtype, dLogits = (dLoss / N) (softmax - q) with q = (1 - s) onehot + s / K;</li>
 *   <li>cross_entropy_mean: lossMean F32 [1] (or a scalar) = mean of lossRows, badLabels I32 [1] = how many labels
 *       lie outside [0, K).</li>
 * </ul>
 * A label outside [0, K) is no error on the device: its row's loss is NaN (so is the mean) and its dLogits row 0;
 * the count says why. Everything stays on the device (no host sync), so a captured step can read the loss later.
 * dLogits must not overlap logits. Nothing is allocated per {@link #launch(Stream)}.
 */
public final class CrossEntropyLaunch implements AutoCloseable {

    private final LaunchSequence launches;

    private CrossEntropyLaunch(LaunchSequence launches) { this.launches = launches; }

    /** dLoss = 1: the gradient of the mean loss itself (training's seed). */
    public static CrossEntropyLaunch prepare(KernelModules m, Tensor lossRows, Tensor lossMean, Tensor badLabels,
                                             Tensor dLogits, Tensor logits, Tensor labels, double labelSmoothing) {
        return prepare(m, lossRows, lossMean, badLabels, dLogits, logits, labels, labelSmoothing, 1.0);
    }

    /** As above with dLogits scaled by dLoss (a loss scale), i.e. grad_scale = dLoss / N. */
    public static CrossEntropyLaunch prepare(KernelModules m, Tensor lossRows, Tensor lossMean, Tensor badLabels,
                                             Tensor dLogits, Tensor logits, Tensor labels, double labelSmoothing,
                                             double dLoss) {
        String k = "cross_entropy";
        if (m == null || lossRows == null || lossMean == null || badLabels == null || dLogits == null || logits == null
                || labels == null) {
            throw new IllegalArgumentException(k + ": modules and every tensor are required");
        }
        LaunchChecks.rank(k, "logits [N, classes]", logits, 2);
        LaunchChecks.activation(k, "logits", logits);
        int n = logits.shape().dim(0), classes = logits.shape().dim(1);
        LaunchChecks.dtype(k, "labels", labels, DType.I32);
        if (!labels.shape().equals(Shape.of(n))) {
            throw new IllegalArgumentException(k + ": labels must be I32 [" + n + "] for logits " + logits.shape()
                    + ", was " + labels.shape());
        }
        if (dLogits.dtype() != logits.dtype() || !dLogits.shape().equals(logits.shape())) {
            throw new IllegalArgumentException(k + ": dLogits must be " + logits.dtype() + " " + logits.shape()
                    + " (the logits' dtype and shape), was " + dLogits.dtype() + " " + dLogits.shape());
        }
        if (dLogits.overlaps(logits)) {
            throw new IllegalArgumentException(k + ": dLogits overlaps logits; the kernel does not run in place");
        }
        if (lossRows.dtype() != DType.F32 || !lossRows.shape().equals(Shape.of(n))) {
            throw new IllegalArgumentException(k + ": lossRows must be F32 [" + n + "], was " + lossRows.dtype() + " "
                    + lossRows.shape());
        }
        if (lossMean.dtype() != DType.F32 || lossMean.numel() != 1) {
            throw new IllegalArgumentException(k + ": lossMean must be one F32, was " + lossMean.dtype() + " "
                    + lossMean.shape());
        }
        if (badLabels.dtype() != DType.I32 || badLabels.numel() != 1) {
            throw new IllegalArgumentException(k + ": badLabels must be one I32, was " + badLabels.dtype() + " "
                    + badLabels.shape());
        }
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
            throw new IllegalArgumentException(k + ": label smoothing must lie in [0, 1], was " + labelSmoothing);
        }
        float gradScale = (float) (dLoss / n);
        if (!Float.isFinite(gradScale)) {
            throw new IllegalArgumentException(k + ": dLoss / N must be finite in float, was " + dLoss + " / " + n);
        }
        return new CrossEntropyLaunch(LaunchSequence.prepare(
                () -> m.prepare(LaunchChecks.byDtype(logits.dtype(), KernelCatalog.CROSS_ENTROPY_F32,
                                KernelCatalog.CROSS_ENTROPY_BF16), CrossEntropyKernels.rows(n, classes), lossRows.arg(),
                        dLogits.arg(), logits.arg(), labels.arg(), i32(n), i32(classes), f32((float) labelSmoothing),
                        f32(gradScale), i32(CrossEntropyKernels.rowWarps(classes))),
                () -> m.prepare(KernelCatalog.CROSS_ENTROPY_MEAN, CrossEntropyKernels.mean(), lossMean.arg(),
                        badLabels.arg(), lossRows.arg(), labels.arg(), i32(n), i32(classes))));
    }

    /** Per-row loss and dLogits. */
    public Launch rows() { return launches.get(0); }

    /** The mean loss and the bad-label count; reads what {@link #rows()} wrote. */
    public Launch mean() { return launches.get(1); }

    /** Queues both launches on {@code stream}, in order. */
    public void launch(Stream stream) { launches.launch(stream); }

    @Override
    public void close() { launches.close(); }
}
