package dev.mambaout.model.infer;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.TensorSource;
import dev.mambaout.model.cli.RandomInit;
import dev.mambaout.model.image.ImageNetLabels;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.runtime.exec.WeightSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MambaOut for embedding: load a checkpoint (timm or official key names) or draw random weights, pick the device,
 * precision and largest batch, then {@link #predict} NCHW float batches (normalised as timm's eval transform does)
 * into logits, {@link #topK} them, or read the stage {@link #features} for backbone use.
 * <p>
 * <b>Threads.</b> A model is safe to share: calls are serialised by an internal lock (one GPU stream and one set of
 * buffers serve them in turn), so many threads may call {@code predict} at once and each gets its own result. For
 * parallel throughput on one GPU use one large batch rather than many threads. <b>Memory.</b> Device memory is taken
 * when the model opens (weights, the program for {@code maxBatch}) and when a new batch size is first used (its
 * program is kept); {@link #close()} frees all of it.
 */
public final class MambaOutModel implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger("dev.mambaout.model.infer");

    /** One class of a top-k answer. */
    public record Prediction(int index, String label, float probability) {}

    private final MambaOutConfig config;
    private final InferenceOptions options;
    private final Executor executor;
    private final Object lock = new Object();
    /** Output sizes per (batch, features), so a call does not rebuild a graph to size its results. */
    private final Map<Long, MambaOutGraph> shapeGraphs = new java.util.HashMap<>();
    private boolean closed;

    private MambaOutModel(MambaOutConfig config, InferenceOptions options, Executor executor) {
        this.config = config;
        this.options = options;
        this.executor = executor;
    }

    /**
     * Loads a checkpoint strictly (every parameter, in its shape) and opens the model. On the GPU each tensor goes
     * from the file's mapping to the device as it is packed, so the model is never whole on the heap; the CPU
     * executor reads them all into memory.
     */
    public static MambaOutModel load(MambaOutConfig config, Path checkpoint, InferenceOptions options) throws IOException {
        try (TensorSource src = TensorSource.open(checkpoint)) {
            Checkpoints.Resolved r = Checkpoints.resolve(src, ParameterSpec.of(config), Checkpoints.Mode.STRICT);
            return open(config, r::floats, options);
        }
    }

    /** Random weights drawn as timm initialises them (seeded), for benchmarks and tests. */
    public static MambaOutModel random(MambaOutConfig config, long seed, InferenceOptions options) {
        return open(config, RandomInit.draw(ParameterSpec.of(config), seed), options);
    }

    /** Opens the model on the given weights (timm names, PyTorch layouts, float). */
    public static MambaOutModel open(MambaOutConfig config, Map<String, float[]> weights, InferenceOptions options) {
        for (ParameterSpec.Param p : ParameterSpec.of(config).params()) {
            float[] v = weights.get(p.name());
            long n = p.shape().stream().mapToLong(Integer::longValue).reduce(1, (a, b) -> a * b);
            if (v == null) throw new IllegalArgumentException("no weights for parameter '" + p.name() + "' of mambaout_" + config.name());
            if (v.length != n) {
                throw new IllegalArgumentException("parameter '" + p.name() + "' has " + v.length + " values; shape "
                        + p.shape() + " needs " + n);
            }
        }
        return open(config, weights::get, options);
    }

    /** Opens on weights read by name as the executor asks for them (the source must stay valid until this returns). */
    private static MambaOutModel open(MambaOutConfig config, WeightSource weights, InferenceOptions options) {
        Executor ex = switch (options.device()) {
            case CPU -> new CpuForward(config, onHeap(config, weights), options);
            case GPU -> GpuForward.open(config, weights, options);
            case AUTO -> {
                try {
                    yield GpuForward.open(config, weights, options);
                } catch (CudaUnavailableException e) {
                    // One line: the reason's first line says what was missing and where it was looked for.
                    LOG.log(System.Logger.Level.INFO, "no GPU, running on the CPU executor: "
                            + e.getMessage().strip().lines().findFirst().orElse(e.toString()));
                    yield new CpuForward(config, onHeap(config, weights), options);
                }
            }
        };
        return new MambaOutModel(config, options, ex);
    }

    private static Map<String, float[]> onHeap(MambaOutConfig config, WeightSource weights) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (ParameterSpec.Param p : ParameterSpec.of(config).params()) m.put(p.name(), weights.values(p.name()));
        return m;
    }

    public MambaOutConfig config() { return config; }

    public InferenceOptions options() { return options; }

    public boolean onGpu() { return executor.onGpu(); }

    /** Where and how the model runs, in one line. */
    public String describe() { return executor.describe(); }

    /** Logits [batch, numClasses] of {@code batch} NCHW float images [batch, inChans, H, W]. */
    public float[] predict(float[] nchw, int batch) {
        checkInput(nchw.length, batch);
        // A heap segment over the array: the GPU path copies it once, into its pinned staging buffer.
        return run(MemorySegment.ofArray(nchw), batch, List.of("logits")).get(0);
    }

    /** As {@link #predict(float[], int)}, from a buffer's remaining floats (its position is not moved). */
    public float[] predict(FloatBuffer nchw, int batch) {
        float[] v = new float[nchw.remaining()];
        nchw.duplicate().get(v);
        return predict(v, batch);
    }

    /** As {@link #predict(float[], int)}, from native or heap memory holding the floats (native byte order). */
    public float[] predict(MemorySegment nchw, int batch) {
        if (nchw.byteSize() % Float.BYTES != 0) throw new IllegalArgumentException("input of " + nchw.byteSize() + " bytes is not whole floats");
        checkInput(nchw.byteSize() / Float.BYTES, batch);
        return run(nchw, batch, List.of("logits")).get(0);
    }

    /**
     * The stem's and every stage's output (NHWC [batch, h, w, c]) by name ("stem", "stage0".."stage3"), plus
     * "logits": the multi-scale features that detection and segmentation heads take.
     */
    public Map<String, float[]> features(float[] nchw, int batch) {
        checkInput(nchw.length, batch);
        List<String> names = new ArrayList<>();
        names.add("stem");
        for (int s = 0; s < config.stages(); s++) names.add("stage" + s);
        names.add("logits");
        List<float[]> v = run(MemorySegment.ofArray(nchw), batch, names);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) out.put(names.get(i), v.get(i));
        return out;
    }

    /** The k most probable classes (softmax) of each image, with ImageNet labels for 1000-class models. */
    public List<List<Prediction>> topK(float[] logits, int k) {
        int classes = config.numClasses();
        if (logits.length % classes != 0) throw new IllegalArgumentException(logits.length + " logits are not rows of " + classes);
        if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        List<List<Prediction>> out = new ArrayList<>();
        for (int i = 0; i < logits.length / classes; i++) {
            List<Prediction> row = new ArrayList<>();
            for (var p : dev.mambaout.model.cli.Predictions.topK(logits, i * classes, classes, Math.min(k, classes))) {
                row.add(new Prediction(p.index(), classes == ImageNetLabels.COUNT ? ImageNetLabels.get(p.index())
                        : "class " + p.index(), (float) p.probability()));
            }
            out.add(row);
        }
        return out;
    }

    /** A profile: each lowered step timed alone, against the card's measured ceilings. */
    public record Profile(String device, dev.mambaout.runtime.exec.Roofline roofline,
                          List<dev.mambaout.runtime.exec.GpuProgram.StepTime> steps, double graphMs) {}

    /**
     * Runs the program for {@code batch} step by step between CUDA events ({@code reps} times each, medians) and
     * once as a whole graph replay; GPU only.
     */
    public Profile profile(int batch, int reps) {
        synchronized (lock) {
            if (closed) throw new IllegalStateException("this MambaOut model is closed");
            if (!(executor instanceof GpuForward gpu)) throw new IllegalStateException("profiling needs the GPU; this model runs on " + describe());
            if (batch < 1 || batch > options.maxBatch()) throw new IllegalArgumentException("batch " + batch + " is outside 1.." + options.maxBatch());
            return gpu.profile(batch, reps);
        }
    }

    private List<float[]> run(MemorySegment x, int batch, List<String> names) {
        synchronized (lock) {
            if (closed) throw new IllegalStateException("this MambaOut model is closed");
            boolean features = names.size() > 1;
            MambaOutGraph shapes = shapeGraphs.computeIfAbsent(batch * 2L + (features ? 1 : 0), k -> MambaOutGraph.build(
                    config, batch, options.height(), options.width(), MambaOutGraph.Mode.INFERENCE,
                    MambaOutGraph.Options.DEFAULT.withFeatures(features)));
            float[][] dst = new float[names.size()][];
            for (int i = 0; i < names.size(); i++) dst[i] = new float[Math.toIntExact(shapes.output(names.get(i)).numel())];
            executor.forward(x, batch, names, dst);
            return List.of(dst);
        }
    }

    private void checkInput(long floats, int batch) {
        if (batch < 1 || batch > options.maxBatch()) {
            throw new IllegalArgumentException("batch " + batch + " is outside 1.." + options.maxBatch()
                    + " (the model's maxBatch; open it with a larger one)");
        }
        long per = (long) config.inChans() * options.height() * options.width();
        if (floats != per * batch) {
            throw new IllegalArgumentException("input holds " + floats + " floats; a batch of " + batch + " NCHW images ["
                    + batch + ", " + config.inChans() + ", " + options.height() + ", " + options.width() + "] needs " + per * batch);
        }
    }

    /** Frees every device buffer; later calls throw. A second close does nothing. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
            executor.close();
        }
    }
}
