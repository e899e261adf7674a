package dev.mambaout.model;

import dev.mambaout.graph.Autodiff;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.GraphBuilder;
import dev.mambaout.graph.MemoryPlanner;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.TrainingGraph;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.graph.DType;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The whole MambaOut network as a static graph for one batch size and image size, built from a
 * {@link MambaOutConfig}. Parameter tensors carry timm's names and PyTorch's shapes straight from
 * {@link ParameterSpec}, so a checkpoint loaded by {@code Checkpoints} binds without renaming. The input is NCHW (as a
 * user passes it) and is permuted to NHWC once; every activation after that is NHWC, as in timm's implementation.
 * <p>
 * Training graphs add I32 labels, the mean cross-entropy loss and, through {@link Autodiff}, the gradient of every
 * parameter and of the input.
 */
public final class MambaOutGraph {

    public enum Mode { INFERENCE, TRAINING }

    /** Name of the NCHW image input and of the labels input (the same keys as the reference fixtures). */
    public static final String INPUT = "input";
    public static final String LABELS = "labels";
    /** Name of the I64 step counter that keys the drop-path masks (training graphs with drop path only). */
    public static final String STEP = "step";

    /**
     * @param floatType      dtype of every floating tensor (what the planner sizes and a GPU executor stores)
     * @param features       also return the stem's and every stage's NHWC output (they then stay live to the end,
     *                       which raises the planner's peak; off for deployment)
     * @param labelSmoothing PyTorch's cross-entropy label smoothing, training only
     * @param dropPathSeed   the seed of the drop-path masks (the config's {@code dropPathRate}), training only
     */
    public record Options(DType floatType, boolean features, double labelSmoothing, long dropPathSeed) {
        public static final Options DEFAULT = new Options(DType.F32, false, 0.0, 0);

        public Options {
            if (!floatType.isFloatingPoint()) throw new IllegalArgumentException("floatType must be floating point, got " + floatType);
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
                throw new IllegalArgumentException("labelSmoothing must lie in [0, 1], got " + labelSmoothing);
            }
        }

        public Options withFloatType(DType t) { return new Options(t, features, labelSmoothing, dropPathSeed); }

        public Options withFeatures(boolean f) { return new Options(floatType, f, labelSmoothing, dropPathSeed); }

        public Options withLabelSmoothing(double s) { return new Options(floatType, features, s, dropPathSeed); }

        public Options withDropPathSeed(long seed) { return new Options(floatType, features, labelSmoothing, seed); }
    }

    private final MambaOutConfig config;
    private final ParameterSpec spec;
    private final Mode mode;
    private final Options options;
    private final int batch;
    private final int height;
    private final int width;
    private final Graph graph;
    private final TrainingGraph training;
    private final Tensor input;
    private final Tensor labels;
    private final Tensor step;
    private final Tensor logits;
    private final Tensor loss;
    private final Map<String, Tensor> features;

    private MambaOutGraph(MambaOutConfig config, Mode mode, Options options, int batch, int height, int width,
                          Graph graph, TrainingGraph training, Tensor input, Tensor labels, Tensor step, Tensor logits,
                          Tensor loss, Map<String, Tensor> features) {
        this.config = config;
        this.spec = ParameterSpec.from(config, graph);
        this.mode = mode;
        this.options = options;
        this.batch = batch;
        this.height = height;
        this.width = width;
        this.graph = graph;
        this.training = training;
        this.input = input;
        this.labels = labels;
        this.step = step;
        this.logits = logits;
        this.loss = loss;
        this.features = Collections.unmodifiableMap(features);
    }

    private static Tensor conv3x3s2(GraphBuilder g, String name, Tensor x, int out, int in) {
        return g.conv2d(x, g.parameter(name + ".weight", out, in, 3, 3), g.parameter(name + ".bias", out), 2, 1);
    }

    private static Tensor norm(GraphBuilder g, String name, Tensor x, int dim) {
        return g.layerNorm(x, g.parameter(name + ".weight", dim), g.parameter(name + ".bias", dim), MambaOutConfig.LN_EPS);
    }

    private static Tensor linear(GraphBuilder g, String name, Tensor x, int out, int in) {
        return g.linear(x, g.parameter(name + ".weight", out, in), g.parameter(name + ".bias", out));
    }

    public static MambaOutGraph inference(MambaOutConfig config, int batch, int height, int width) {
        return build(config, batch, height, width, Mode.INFERENCE, Options.DEFAULT);
    }

    public static MambaOutGraph training(MambaOutConfig config, int batch, int height, int width) {
        return build(config, batch, height, width, Mode.TRAINING, Options.DEFAULT);
    }

    public static MambaOutGraph build(MambaOutConfig c, int batch, int height, int width, Mode mode, Options options) {
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        // Any positive size works: a k3 s2 p1 conv maps n to floor((n - 1) / 2) + 1 >= 1, odd sizes included.
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("image size must be positive, got " + height + "x" + width);
        }
        GraphBuilder g = new GraphBuilder(options.floatType());
        // Each parameter is declared where the forward pass uses it, as timm's modules register theirs: names, shapes
        // and order come from this one walk (ParameterSpec and ModelStats read them off the graph).
        Tensor x = g.input(INPUT, batch, c.inChans(), height, width);
        Tensor y = mode == Mode.TRAINING ? g.labels(LABELS, batch) : null;
        // Stochastic depth is training only (timm's DropPath is the identity in eval mode), and a block whose rate is
        // 0 has none (timm's nn.Identity), so a rate of 0 leaves the graph as it was.
        double[] dpr = c.dropPathRates();
        Tensor step = mode == Mode.TRAINING && c.dropPathRate() > 0 ? g.counter(STEP) : null;
        int blockIndex = 0;
        Map<String, Tensor> feats = new LinkedHashMap<>();
        Activation act = switch (c.act()) {
            case GELU -> Activation.GELU;
            case SILU -> Activation.SILU;
        };
        int d0 = c.dim(0);

        // Stem: conv(k3 s2 p1) -> [LN] -> act -> conv(k3 s2 p1) -> LN.
        Tensor h = g.nchwToNhwc(x);
        h = conv3x3s2(g, "stem.conv1", h, d0 / 2, c.inChans());
        if (c.stemMidNorm()) h = norm(g, "stem.norm1", h, d0 / 2);
        h = g.activation(h, act);
        h = conv3x3s2(g, "stem.conv2", h, d0, d0 / 2);
        h = norm(g, "stem.norm2", h, d0);
        feats.put("stem", h);

        for (int s = 0; s < c.stages(); s++) {
            int dim = c.dim(s);
            if (s > 0) {
                String ds = "stages." + s + ".downsample.";
                int prev = c.dim(s - 1);
                if (c.downsample() == MambaOutConfig.Downsample.CONV_NORM_FIRST) {
                    h = norm(g, ds + "norm", h, prev);
                    h = conv3x3s2(g, ds + "conv", h, dim, prev);
                } else {
                    h = conv3x3s2(g, ds + "conv", h, dim, prev);
                    h = norm(g, ds + "norm", h, dim);
                }
            }
            int hidden = c.hidden(s), cc = c.convChannels(s), k = c.kernelSize();
            for (int b = 0; b < c.depth(s); b++) {
                String blk = "stages." + s + ".blocks." + b + ".";
                Tensor t = norm(g, blk + "norm", h, dim);
                t = linear(g, blk + "fc1", t, 2 * hidden, dim);
                t = g.gatedDwConv(t, g.parameter(blk + "conv.weight", cc, 1, k, k), g.parameter(blk + "conv.bias", cc), act);
                t = linear(g, blk + "fc2", t, dim, hidden);
                if (c.layerScale()) t = g.layerScale(t, g.parameter(blk + "ls.gamma", dim));
                if (step != null && dpr[blockIndex] > 0) t = g.dropPath(t, step, dpr[blockIndex], options.dropPathSeed(), blockIndex);
                blockIndex++;
                h = g.add(t, h);
            }
            feats.put("stage" + s, h);
        }

        // Head: timm gives neither head an act_layer, so it is GELU even in SiLU models.
        int last = c.dims().getLast(), hh = c.headHidden();
        Tensor z = g.meanHW(h);
        z = norm(g, "head.norm", z, last);
        z = linear(g, "head.pre_logits.fc", z, hh, last);
        z = g.gelu(z);
        if (c.head() == MambaOutConfig.Head.MLP) z = norm(g, "head.pre_logits.norm", z, hh);
        Tensor logits = linear(g, "head.fc", z, c.numClasses(), hh);

        g.output(logits);
        Tensor loss = null;
        if (mode == Mode.TRAINING) {
            loss = g.crossEntropy(logits, y, options.labelSmoothing());
            g.output(loss);
        }
        if (options.features()) feats.values().forEach(g::output);
        Graph forward = g.build();
        TrainingGraph training = mode == Mode.TRAINING ? Autodiff.training(forward, loss) : null;
        return new MambaOutGraph(c, mode, options, batch, height, width,
                training == null ? forward : training.graph(), training, x, y, step, logits, loss,
                options.features() ? feats : Map.of());
    }

    public MambaOutConfig config() { return config; }

    public ParameterSpec spec() { return spec; }

    public Mode mode() { return mode; }

    public Options options() { return options; }

    public int batch() { return batch; }

    public int height() { return height; }

    public int width() { return width; }

    /** The graph to execute: forward only, or forward + backward in one schedule for training. */
    public Graph graph() { return graph; }

    /** The NCHW image batch [N, inChans, H, W]. */
    public Tensor input() { return input; }

    /** I32 class labels [N]; training graphs only. */
    public Tensor labels() {
        requireTraining("labels");
        return labels;
    }

    /**
     * The I64 [1] counter keying the drop-path masks: bind it to the 1-based optimiser step. Null when the graph has
     * no drop path (inference, or a rate of 0).
     */
    public Tensor step() { return step; }

    /** [N, numClasses]. */
    public Tensor logits() { return logits; }

    /** Mean cross-entropy, a one-element tensor; training graphs only. */
    public Tensor loss() {
        requireTraining("loss");
        return loss;
    }

    /** The gradient of a parameter (timm name) or of the input ({@link #INPUT}, NCHW like the input). */
    public Tensor gradient(String name) {
        requireTraining("gradients");
        return training.gradient(name);
    }

    public TrainingGraph trainingGraph() {
        requireTraining("the training graph");
        return training;
    }

    /**
     * A named result: "logits", "loss" (training), or with {@link Options#features} "stem" and "stage0".."stage{n-1}"
     * (NHWC, the outputs of timm's {@code stem} and {@code stages[i]}).
     */
    public Tensor output(String name) {
        switch (name) {
            case "logits" -> { return logits; }
            case "loss" -> { return loss(); }
            default -> {
                Tensor t = features.get(name);
                if (t == null) {
                    throw new IllegalArgumentException("no output '" + name + "': outputs are logits"
                            + (mode == Mode.TRAINING ? ", loss" : "")
                            + (features.isEmpty() ? " (build with Options.withFeatures(true) for stem, stage0..)" : ", " + String.join(", ", features.keySet())));
                }
                return t;
            }
        }
    }

    /** The features returned with {@link Options#features}, by name, in network order (empty otherwise). */
    public Map<String, Tensor> features() { return features; }

    /**
     * Bytes of the activation arena the memory planner lays out for this graph with the options' float type:
     * inputs, labels, intermediates and the input gradient; not the weights, nor (training) the parameter gradients.
     */
    public long peakActivationBytes() {
        return training != null
                ? MemoryPlanner.plan(training, options.floatType()).peakBytes()
                : MemoryPlanner.plan(graph, options.floatType()).peakBytes();
    }

    private void requireTraining(String what) {
        if (training == null) throw new IllegalStateException(what + " exist only in a training graph; this one was built for " + mode);
    }

    @Override
    public String toString() {
        return "MambaOutGraph[" + config.name() + ", " + mode + ", batch " + batch + ", " + height + "x" + width + ", " + graph + "]";
    }
}
