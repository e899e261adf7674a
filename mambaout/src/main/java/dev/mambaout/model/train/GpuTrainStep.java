package dev.mambaout.model.train;

import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.kernels.Kernels;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.PinnedBuffer;
import dev.mambaout.runtime.dist.Communicator;
import dev.mambaout.runtime.exec.GpuProgram;
import dev.mambaout.runtime.exec.GpuTrainProgram;
import dev.mambaout.runtime.exec.GpuWeights;
import dev.mambaout.runtime.exec.Precision;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The training step on the GPU: forward, loss, backward and AdamW as one CUDA graph replay per batch
 * ({@link GpuTrainProgram}), over f32 master weights and moments that stay on the device; batches arrive through
 * page-locked staging buffers. Evaluation runs the inference program on a copy of the current weights, uploaded
 * again only when an update happened since the last evaluation.
 */
public final class GpuTrainStep implements TrainStep {

    private final TrainConfig config;
    private final Precision precision;
    private final CudaDriver.Backend backend;
    private final Device device;
    private final GpuTrainProgram program;
    private final List<PinnedBuffer> pinned = new ArrayList<>();
    private final Map<Integer, Eval> eval = new HashMap<>();
    private final float[] logits;
    private final AdamWKernels.Hyper hyper;
    private GpuWeights evalWeights;
    private long evalWeightsStep = -1;
    private long step;

    /**
     * @throws CudaUnavailableException when there is no usable GPU or the kernels are not in this build
     */
    public GpuTrainStep(TrainConfig config, TrainState initial, Precision precision, CudaDriver.Backend backend, int ordinal) {
        this(config, initial, precision, backend, ordinal, null);
    }

    /**
     * One rank of a data-parallel step ({@link DataParallelTrainStep}) when {@code comm} is not null: {@code config}'s
     * batch is this rank's share, the gradients are averaged over the ranks inside each step, and the caller runs
     * {@link GpuTrainProgram#broadcastState} on every rank before the first step. The caller keeps {@code comm}.
     */
    GpuTrainStep(TrainConfig config, TrainState initial, Precision precision, CudaDriver.Backend backend, int ordinal,
                 Communicator comm) {
        Cuda.Availability a = Cuda.availability(backend);
        if (!a.available()) throw new CudaUnavailableException("no usable GPU (" + backend + " backend): " + a.reason());
        Kernels.BuildInfo k = Kernels.buildInfo();
        if (!k.built()) throw new CudaUnavailableException("the CUDA kernels are not in this build: " + k.reason());
        this.config = config;
        this.precision = precision;
        this.backend = backend;
        MambaOutGraph training = config.trainingGraph();
        AdamW opt = config.optimizer();
        this.hyper = new AdamWKernels.Hyper(config.lr(), opt.beta1(), opt.beta2(), opt.eps(), opt.weightDecay(), 1, config.clipGrad());
        this.logits = new float[config.batch() * config.model().numClasses()];
        Device dev = Device.open(Cuda.open(backend), ordinal);
        GpuTrainProgram prog = null;
        try {
            prog = GpuTrainProgram.build(dev, training.trainingGraph(), training.logits(), precision,
                    t -> AdamW.decays(t.name(), t.shape().dims().length), comm);
            prog.setState(initial.weights(), initial.expAvg(), initial.expAvgSq());
            // drop_path keys a sample's mask by its index in the global batch: rank r's samples start at r x its batch.
            if (comm != null) prog.setSampleOffset((long) comm.rank() * config.batch());
        } catch (RuntimeException | Error e) {
            if (prog != null) prog.close();
            dev.close();
            throw e;
        }
        this.device = dev;
        this.program = prog;
        this.step = initial.step();
    }

    @Override
    public StagingBuffer stagingBuffer(int capacity) {
        int sample = config.model().inChans() * config.imageSize() * config.imageSize();
        if (capacity < 1) throw new IllegalArgumentException("a staging buffer needs capacity >= 1, got " + capacity);
        device.makeCurrent();
        PinnedBuffer images = device.newPinned((long) capacity * sample * Float.BYTES);
        PinnedBuffer labels;
        try {
            labels = device.newPinned((long) capacity * Integer.BYTES);
        } catch (RuntimeException e) {
            images.close();
            throw e;
        }
        pinned.add(images);
        pinned.add(labels);
        return new Pinned(capacity, sample, images.segment(), labels.segment());
    }

    /** Page-locked host memory: the copy to the device runs at full speed. */
    private record Pinned(int capacity, int sampleFloats, MemorySegment images, MemorySegment labels) implements StagingBuffer {}

    @Override
    public StepResult step(StagingBuffer batch, int count, double lr) {
        if (count != config.batch()) {
            throw new IllegalArgumentException("the training step takes batches of " + config.batch() + ", got " + count);
        }
        device.makeCurrent();
        program.setBatch(batch.images().asSlice(0, (long) count * batch.sampleFloats() * Float.BYTES),
                batch.labels().asSlice(0, (long) count * Integer.BYTES));
        program.step(hyper.at(step + 1, lr));
        double loss = program.loss();
        program.logits(logits);
        double norm = program.gradNorm();
        step++;
        return new StepResult(loss, Classification.correct(logits, batch.labelArray(count), config.model().numClasses()), norm);
    }

    @Override
    public float[] logits(StagingBuffer batch, int count) {
        device.makeCurrent();
        Eval e = eval.get(count);
        MambaOutGraph g = e != null ? e.graph()
                : MambaOutGraph.inference(config.model(), count, config.imageSize(), config.imageSize());
        if (evalWeightsStep != step) {
            // The programs point into the old weights' buffer: they go with it (once per evaluation, not per batch).
            for (Eval old : eval.values()) old.gpu().close();
            eval.clear();
            e = null;
            if (evalWeights != null) evalWeights.close();
            evalWeights = null;
            Map<String, float[]> w = program.weights();
            evalWeights = GpuProgram.uploadWeights(device, g.graph(), precision, name -> {
                float[] v = w.get(name);
                if (v == null) throw new IllegalArgumentException("no trained weights for '" + name + "'");
                return v;
            });
            evalWeightsStep = step;
        }
        if (e == null) {
            e = new Eval(g, GpuProgram.build(device, g.graph(), precision, evalWeights));
            eval.put(count, e);
        }
        e.gpu().setInput(MambaOutGraph.INPUT, batch.images().asSlice(0, (long) count * batch.sampleFloats() * Float.BYTES));
        e.gpu().run();
        float[] out = new float[count * config.model().numClasses()];
        e.gpu().readOutput(e.graph().logits().name(), out, 0);
        return out;
    }

    private record Eval(MambaOutGraph graph, GpuProgram gpu) {}

    @Override
    public long completedSteps() { return step; }

    @Override
    public TrainState state() {
        device.makeCurrent();
        return new TrainState(program.weights(), program.expAvg(), program.expAvgSq(), step);
    }

    /** The gradients of the last step, timm names and PyTorch layout (tests; before clipping). */
    public Map<String, float[]> gradients() {
        device.makeCurrent();
        return program.gradients();
    }

    public GpuTrainProgram program() { return program; }

    @Override
    public String describe() {
        Device.Info i = device.info();
        return "GPU " + i.name() + " (" + backend.name().toLowerCase() + " driver backend, " + precision.name().toLowerCase()
                + ", one CUDA graph per step, " + program.deviceBytes() / (1 << 20) + " MiB of device memory)";
    }

    @Override
    public void close() {
        device.makeCurrent();
        try {
            for (Eval e : eval.values()) e.gpu().close();
            eval.clear();
            if (evalWeights != null) evalWeights.close();
            program.close();
            for (PinnedBuffer b : pinned) b.close();
            pinned.clear();
        } finally {
            device.close();
        }
    }
}
