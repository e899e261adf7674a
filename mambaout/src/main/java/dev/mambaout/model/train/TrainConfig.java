package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;

import java.util.Locale;

/**
 * Everything that determines a run's trajectory: the model, the input size, the batch, the optimiser, the schedule
 * and the seed (of the initial weights and of the sample order). A checkpoint records it and a resumed run must
 * match it exactly; where output goes and how often it is written are {@link Trainer.Options}.
 *
 * @param warmupPct      fraction of all steps spent warming up (one-cycle's {@code pct_start})
 * @param labelSmoothing PyTorch's cross-entropy label smoothing
 * @param clipGrad       maximum global gradient norm, 0 for no clipping
 */
public record TrainConfig(MambaOutConfig model, int imageSize, int batch, int epochs, double lr, double weightDecay,
                          Schedule schedule, double warmupPct, double labelSmoothing, double clipGrad, long seed) {

    public enum Schedule { ONECYCLE, COSINE }

    public TrainConfig {
        if (imageSize < 1) throw new IllegalArgumentException("image size must be >= 1, got " + imageSize);
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("learning rate must be a positive number, got " + lr);
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        if (!(warmupPct >= 0 && warmupPct <= 1)) throw new IllegalArgumentException("warmup fraction must lie in [0, 1], got " + warmupPct);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new IllegalArgumentException("label smoothing must lie in [0, 1], got " + labelSmoothing);
        if (!(clipGrad >= 0) || !Double.isFinite(clipGrad)) throw new IllegalArgumentException("gradient clipping norm must be >= 0 (0: off), got " + clipGrad);
    }

    public AdamW optimizer() {
        return AdamW.withWeightDecay(weightDecay);
    }

    /**
     * The model's training graph for this run's batch and size: its loss smoothing, and drop-path masks keyed by the
     * run's seed (bind {@link MambaOutGraph#step} to the 1-based optimiser step), so every executor draws the same.
     */
    public MambaOutGraph trainingGraph() {
        return MambaOutGraph.build(model, batch, imageSize, imageSize, MambaOutGraph.Mode.TRAINING,
                MambaOutGraph.Options.DEFAULT.withLabelSmoothing(labelSmoothing).withDropPathSeed(seed));
    }

    /** The learning-rate curve over a run of {@code totalSteps} optimiser steps. */
    public LrSchedule lrSchedule(long totalSteps) {
        return switch (schedule) {
            case ONECYCLE -> LrSchedule.OneCycle.defaults(lr, totalSteps, warmupPct);
            case COSINE -> new LrSchedule.WarmupCosine(lr, totalSteps, Math.round(warmupPct * totalSteps));
        };
    }

    /** The record as JSON, written field by field so the checkpoint format does not follow refactorings silently. */
    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode n = json.createObjectNode();
        ObjectNode m = n.putObject("model");
        m.put("name", model.name());
        m.put("in_chans", model.inChans());
        m.put("num_classes", model.numClasses());
        model.depths().forEach(m.putArray("depths")::add);
        model.dims().forEach(m.putArray("dims")::add);
        m.put("expansion_ratio", model.expansionRatio());
        m.put("conv_ratio", model.convRatio());
        m.put("kernel_size", model.kernelSize());
        m.put("stem_mid_norm", model.stemMidNorm());
        m.put("downsample", lower(model.downsample()));
        m.put("layer_scale", model.layerScale());
        m.put("act", lower(model.act()));
        m.put("head", lower(model.head()));
        // Only when set, so checkpoints of runs without it stay resumable.
        if (model.dropPathRate() > 0) m.put("drop_path_rate", model.dropPathRate());
        n.put("image_size", imageSize);
        n.put("batch", batch);
        n.put("epochs", epochs);
        n.put("lr", lr);
        n.put("weight_decay", weightDecay);
        n.put("schedule", lower(schedule));
        n.put("warmup_pct", warmupPct);
        n.put("label_smoothing", labelSmoothing);
        n.put("clip_grad", clipGrad);
        n.put("seed", seed);
        return n;
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
