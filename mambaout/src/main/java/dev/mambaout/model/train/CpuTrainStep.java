package dev.mambaout.model.train;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.model.ParameterSpec;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training step on the CPU executor in F32 (float storage, double accumulation inside each op): the model's
 * training graph gives the loss and the gradient of every parameter, the host applies clipping and AdamW. Slow but
 * exact and deterministic (the executor's sums have a fixed order), which is what CI tests and resume rely on.
 */
public final class CpuTrainStep implements TrainStep {

    private final TrainConfig config;
    private final MambaOutGraph training;
    private final ParameterSpec spec;
    private final AdamW adamw;
    private final CpuExecutor cpu = new CpuExecutor(Precision.F32);
    /** Inference graphs by batch size: the test set's last batch may be smaller. */
    private final Map<Integer, MambaOutGraph> inference = new HashMap<>();
    private final Map<String, float[]> weights, expAvg, expAvgSq;
    private long step;

    /** @param initial weights (and moments and step, when resuming); copied, so the caller's arrays stay untouched */
    public CpuTrainStep(TrainConfig config, TrainState initial) {
        this.config = config;
        this.training = config.trainingGraph();
        this.spec = training.spec();
        this.adamw = config.optimizer();
        for (ParameterSpec.Param p : spec.params()) {
            for (Map<String, float[]> m : List.of(initial.weights(), initial.expAvg(), initial.expAvgSq())) {
                float[] v = m.get(p.name());
                if (v == null || v.length != p.numel()) {
                    throw new IllegalArgumentException("training state: '" + p.name() + "' needs " + p.numel() + " values, got "
                            + (v == null ? "none" : v.length));
                }
            }
        }
        TrainState own = initial.copy();
        this.weights = own.weights();
        this.expAvg = own.expAvg();
        this.expAvgSq = own.expAvgSq();
        this.step = initial.step();
    }

    public ParameterSpec spec() { return spec; }

    /** Loss, logits and the gradient of every parameter (timm names) of one batch at the current weights. */
    public record Gradients(double loss, float[] logits, Map<String, double[]> grads) {}

    public Gradients gradients(StagingBuffer batch, int count) {
        if (count != config.batch()) {
            throw new IllegalArgumentException("the training graph takes batches of " + config.batch() + ", got " + count);
        }
        Bindings b = new Bindings().put(training.input(), batch.imageArray(count)).putLabels(training.labels(), batch.labelArray(count));
        // The masks of the update this batch makes: the step the GPU's AdamW counts (hyper.at(step + 1)).
        if (training.step() != null) b.putCounter(training.step(), step + 1);
        weights.forEach(b::put);
        Results r = cpu.run(training.graph(), b);
        Map<String, double[]> grads = new LinkedHashMap<>();
        for (ParameterSpec.Param p : spec.params()) grads.put(p.name(), r.doubles(training.gradient(p.name())));
        return new Gradients(r.scalar(training.loss()), r.floats(training.logits()), grads);
    }

    @Override
    public StagingBuffer stagingBuffer(int capacity) {
        return StagingBuffer.onHeap(capacity, config.model().inChans() * config.imageSize() * config.imageSize());
    }

    @Override
    public StepResult step(StagingBuffer batch, int count, double lr) {
        Gradients g = gradients(batch, count);
        double norm = AdamW.clipGradNorm(g.grads(), config.clipGrad() > 0 ? config.clipGrad() : Double.POSITIVE_INFINITY);
        adamw.update(spec, weights, g.grads(), expAvg, expAvgSq, step + 1, lr);
        step++;
        return new StepResult(g.loss(), Classification.correct(g.logits(), batch.labelArray(count), config.model().numClasses()), norm);
    }

    @Override
    public float[] logits(StagingBuffer batch, int count) {
        MambaOutGraph g = inference.computeIfAbsent(count, n -> MambaOutGraph.inference(config.model(), n, config.imageSize(), config.imageSize()));
        Bindings b = new Bindings().put(g.input(), batch.imageArray(count));
        weights.forEach(b::put);
        return cpu.run(g.graph(), b).floats(g.logits());
    }

    @Override
    public long completedSteps() { return step; }

    @Override
    public TrainState state() {
        return new TrainState(weights, expAvg, expAvgSq, step).copy();
    }

    @Override
    public String describe() {
        return "CPU executor (F32 storage, double accumulation, " + Runtime.getRuntime().availableProcessors() + " cores)";
    }

    @Override
    public void close() { inference.clear(); }
}
