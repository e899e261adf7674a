package dev.mambaout.model.train;

/**
 * One optimiser step on a staged batch, on whatever device holds the model: forward, backward, optional gradient
 * clipping and the AdamW update, with the weights and moments kept where the step runs. The trainer only stages
 * batches, asks for steps and evaluations, and takes a host copy of the state for checkpoints, so a GPU
 * implementation (weights, gradients and moments on the device, one CUDA graph per step) replaces
 * {@link CpuTrainStep} without any change to {@link Trainer}.
 */
public interface TrainStep extends AutoCloseable {

    /** Host memory for one batch of {@code capacity} samples in the form this step reads fastest. */
    StagingBuffer stagingBuffer(int capacity);

    /**
     * One update with learning rate {@code lr} on the first {@code count} samples of the buffer ({@code count} is the
     * configured batch size).
     */
    StepResult step(StagingBuffer batch, int count, double lr);

    /** Logits [count, numClasses] of the current weights (the inference graph: evaluation). */
    float[] logits(StagingBuffer batch, int count);

    /** Optimiser updates made so far (including those before a resume). */
    long completedSteps();

    /** A host copy of the weights, moments and step count (checkpoints, the final model). */
    TrainState state();

    /** One line for the log: where and how the step runs. */
    String describe();

    @Override
    void close();

    /**
     * @param loss     mean cross-entropy of the batch (with label smoothing) before the update
     * @param correct  samples whose top-1 prediction was right, before the update
     * @param gradNorm global L2 norm of the gradients before clipping
     */
    record StepResult(double loss, int correct, double gradNorm) {}
}
