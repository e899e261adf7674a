package dev.mambaout.model.cli;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ModelStats;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.CheckpointMismatchException;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.KeyNaming;
import dev.mambaout.model.checkpoint.TensorSource;
import dev.mambaout.model.image.EvalTransform;
import dev.mambaout.model.image.ImageFiles;
import dev.mambaout.model.image.ImageNetLabels;
import dev.mambaout.model.image.Rgb8Image;
import dev.mambaout.model.infer.DeviceChoice;
import dev.mambaout.model.infer.InferenceOptions;
import dev.mambaout.model.infer.MambaOutModel;
import dev.mambaout.natives.Cuda;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code mambaout run}: one forward pass of a variant through the inference API (GPU or CPU executor), printing the top
 * classes of every input and the time the pass took.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Classify images (or seeded random inputs) with a MambaOut variant on the GPU or the CPU executor.")
final class RunCommand implements Callable<Integer> {

    static final String RANDOM = "random";
    /** The tensor a .safetensors input must hold (the name the reference fixtures use). */
    static final String TENSOR_INPUT = "input";
    /** ForkJoinPool's limit on parallelism. */
    static final int MAX_THREADS = 0x7fff;

    @Option(names = {"-m", "--model"}, defaultValue = "femto", paramLabel = "VARIANT",
            description = "Variant (see 'mambaout models'; timm's mambaout_ prefix is accepted). Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = {"-w", "--weights"}, paramLabel = "FILE",
            description = "Checkpoint: a .safetensors file (timm or official key names), a sharded index or a directory. "
                    + "Without it the model gets random weights drawn as timm initialises them.")
    Path weights;

    @Option(names = {"-i", "--input"}, paramLabel = "IMAGE|random", defaultValue = RANDOM,
            description = "PNG or JPEG files, 'random' for a seeded N(0,1) input, or a .safetensors file whose "
                    + "'input' tensor [N, 3, H, W] is already preprocessed; repeatable, or several separated by commas "
                    + "(a value naming an existing file is taken whole, commas and all). The batch cycles through them. "
                    + "Default: ${DEFAULT-VALUE}.")
    List<String> inputs;

    @Option(names = {"-b", "--batch"}, paramLabel = "N",
            description = "Batch size; the inputs are repeated to fill it. Default: the number of inputs.")
    Integer batch;

    @Option(names = {"--image-size"}, paramLabel = "PIXELS",
            description = "Model input resolution. Default: the variant's (224).")
    Integer imageSize;

    @Option(names = {"--seed"}, defaultValue = "0", paramLabel = "SEED", description = "Seed of random weights and random inputs. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Worker threads of the CPU executor. Default: all available processors.")
    Integer threads;

    @Option(names = {"--device"}, defaultValue = "AUTO", paramLabel = "gpu|cpu|auto",
            description = "Where to run: gpu, cpu (the CPU executor), or auto (the GPU when one is usable). Default: ${DEFAULT-VALUE}.")
    DeviceChoice device;

    @Option(names = {"--precision"}, defaultValue = "F32", paramLabel = "f32|tf32|bf16",
            description = "GPU storage and GEMM precision (the CPU executor always computes in float with double "
                    + "accumulation). Default: ${DEFAULT-VALUE}.")
    dev.mambaout.runtime.exec.Precision precision;

    @Option(names = {"-k", "--top"}, defaultValue = "5", paramLabel = "K", description = "Classes to print per input. Default: ${DEFAULT-VALUE}.")
    int top;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        MambaOutConfig config = MambaOutConfig.variant(model);
        int size = imageSize != null ? imageSize : config.imageSize();
        if (size < 1) throw new IllegalArgumentException("--image-size must be >= 1, got " + size);
        if (top < 1) throw new IllegalArgumentException("--top must be >= 1, got " + top);
        int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (workers < 1 || workers > MAX_THREADS) {
            throw new IllegalArgumentException("--threads must lie in 1.." + MAX_THREADS + ", got " + workers);
        }
        if ((long) config.inChans() * size * size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--image-size " + size + " is too large: one image would exceed 2^31 values");
        }
        try {
            return run(out, config, size, workers);
        } catch (OutOfMemoryError e) {
            throw new IllegalArgumentException("out of memory (heap " + Runtime.getRuntime().maxMemory() / (1 << 20)
                    + " MiB) for this batch and image size: use a smaller --batch or --image-size, or give Java more "
                    + "heap (JAVA_OPTS=-Xmx...)", e);
        }
    }

    private int run(PrintWriter out, MambaOutConfig config, int size, int workers) throws Exception {
        // Inputs first: a bad image path should fail before seconds of checkpoint loading.
        EvalTransform transform = new EvalTransform(size, config.cropPct(), EvalTransform.IMAGENET_MEAN, EvalTransform.IMAGENET_STD);
        int perImage = config.inChans() * size * size;
        List<Source> sources = sources(perImage, size);
        int n = batch != null ? batch : sources.size();
        if (n < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + n);
        if (n < sources.size()) {
            throw new IllegalArgumentException("--batch " + n + " is smaller than the " + sources.size() + " inputs given");
        }
        if ((long) n * perImage > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("--batch " + n + " at " + size + "x" + size + " exceeds 2^31 input values");
        }
        float[] x = new float[n * perImage];
        List<String> described = fillInputs(x, n, perImage, size, transform, sources);

        long t0 = System.nanoTime();
        String weightsNote;
        Map<String, float[]> values;
        if (weights == null) {
            values = RandomInit.draw(ParameterSpec.of(config), seed);
            weightsNote = "random weights (timm init: trunc-normal std 0.02, zero biases; seed " + seed + ")";
        } else {
            if (!Files.exists(weights)) throw new IOException("weights file " + weights + " does not exist");
            try (TensorSource src = TensorSource.open(weights)) {
                int classes = classifierRows(src);
                if (classes > 0 && classes != config.numClasses()) config = config.withNumClasses(classes);
                Checkpoints.Loaded<float[]> loaded;
                try {
                    loaded = Checkpoints.loadFloats(src, ParameterSpec.of(config), Checkpoints.Mode.STRICT);
                } catch (CheckpointMismatchException e) {
                    List<String> fits = fittingVariants(src, config.numClasses());
                    // The shapes may fit the variant already chosen (the mismatch is then a dtype): not a hint.
                    boolean shapesFit = fits.remove(config.name());
                    String hint = !fits.isEmpty() ? "it fits --model " + String.join(" or --model ", fits)
                            : shapesFit ? "its shapes fit --model " + config.name() + " but some tensors are not floating point"
                            : "it fits none of the named variants";
                    String[] parts = e.getMessage().split("\n", 2);
                    throw new IllegalArgumentException(parts[0] + "; " + hint + (parts.length > 1 ? "\n" + parts[1] : ""), e);
                }
                values = loaded.values();
                weightsNote = weights + " (" + loaded.naming().name().toLowerCase(Locale.ROOT) + " key names"
                        + (loaded.prefix().isEmpty() ? "" : ", prefix '" + loaded.prefix() + "' stripped") + ")";
            }
        }
        double loadMs = (System.nanoTime() - t0) / 1e6;

        InferenceOptions options = new InferenceOptions(device, precision,
                n, size, size, Cuda.configuredBackend(), 0, workers);
        out.printf(Locale.ROOT, "model    mambaout_%s: %,d parameters, %.2f GMACs per %dx%d image, %d classes%n", config.name(),
                ModelStats.params(config), ModelStats.gmacs(config, size, size), size, size, config.numClasses());
        out.printf(Locale.ROOT, "weights  %s, loaded in %.0f ms%n", weightsNote, loadMs);
        out.flush();

        float[] logits;
        double forwardMs;
        String where;
        try (MambaOutModel m = MambaOutModel.open(config, values, options)) {
            long t1 = System.nanoTime();
            logits = m.predict(x, n);
            forwardMs = (System.nanoTime() - t1) / 1e6;
            where = m.describe();
        }

        int classes = config.numClasses();
        boolean imagenet = classes == ImageNetLabels.COUNT;
        for (int i = 0; i < n; i++) {
            out.printf(Locale.ROOT, "%ninput %d: %s%n", i, described.get(i));
            for (Predictions.Prediction p : Predictions.topK(logits, i * classes, classes, top)) {
                out.printf(Locale.ROOT, "  %4d  %8.4f  %s%n", p.index(), p.probability(),
                        imagenet ? ImageNetLabels.get(p.index()) : "class " + p.index());
            }
        }
        out.printf(Locale.ROOT, "%nforward  %.1f ms for a batch of %d on %s, %.1f ms per input (the first pass: it includes"
                + " building the program)%n", forwardMs, n, where, forwardMs / n);
        out.flush();
        return 0;
    }

    /** One slot of the input cycle: an image to transform, a tensor already preprocessed, or a random draw. */
    private sealed interface Source {
        record Image(String path, Rgb8Image image) implements Source {}
        record Tensor(String path, int index, float[] values, int offset) implements Source {}
        record Random() implements Source {}
    }

    /** The inputs as given: one source per image or 'random', one per image of a .safetensors file's input tensor. */
    private List<Source> sources(int perImage, int size) throws IOException {
        List<Source> sources = new ArrayList<>();
        for (String in : inputList(inputs)) {
            if (RANDOM.equalsIgnoreCase(in)) sources.add(new Source.Random());
            else if (in.endsWith(".safetensors")) sources.addAll(tensorInputs(in, perImage, size));
            else sources.add(new Source.Image(in, ImageFiles.read(Path.of(in))));
        }
        return sources;
    }

    /**
     * The --input values split at commas, except a value that names an existing file: picocli's own splitting would
     * make a file such as "cat, 2.jpg" impossible to pass.
     */
    static List<String> inputList(List<String> values) {
        List<String> out = new ArrayList<>();
        for (String v : values) {
            if (v.contains(",") && !Files.exists(Path.of(v))) {
                for (String part : v.split(",", -1)) {
                    if (part.isEmpty()) throw new IllegalArgumentException("--input '" + v + "' has an empty item between commas");
                    out.add(part);
                }
            } else {
                out.add(v);
            }
        }
        return out;
    }

    /** Fills the NCHW batch, cycling through the sources; each random slot draws its own values. */
    private List<String> fillInputs(float[] x, int n, int perImage, int size, EvalTransform transform,
                                    List<Source> sources) {
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        List<String> described = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            switch (sources.get(i % sources.size())) {
                case Source.Random() -> {
                    for (int j = 0; j < perImage; j++) x[i * perImage + j] = (float) rng.nextGaussian();
                    described.add("random N(0,1) (seed " + seed + ")");
                }
                case Source.Image(String path, Rgb8Image img) -> {
                    transform.apply(img, x, i * perImage);
                    int[] wh = transform.resizedSize(img.width(), img.height());
                    described.add(path + " (" + img.width() + "x" + img.height() + ", resized to " + wh[0] + "x" + wh[1]
                            + ", centre crop " + size + ")");
                }
                case Source.Tensor(String path, int index, float[] values, int offset) -> {
                    System.arraycopy(values, offset, x, i * perImage, perImage);
                    described.add(path + " input[" + index + "] (preprocessed tensor)");
                }
            }
        }
        return described;
    }

    private static List<Source> tensorInputs(String file, int perImage, int size) throws IOException {
        Path path = Path.of(file);
        if (!Files.exists(path)) throw new IOException("input file " + file + " does not exist");
        if (!Files.isRegularFile(path)) throw new IOException("input " + file + " is not a regular file (a directory, pipe or device)");
        try (TensorSource src = TensorSource.open(path)) {
            if (!src.contains(TENSOR_INPUT)) {
                throw new IllegalArgumentException("input file " + file + " has no tensor named '" + TENSOR_INPUT + "' (it has "
                        + String.join(", ", src.names().stream().limit(8).toList()) + (src.names().size() > 8 ? ", ..." : "") + ")");
            }
            List<Long> shape = src.info(TENSOR_INPUT).shape();
            if (shape.size() != 4 || shape.get(0) < 1 || shape.get(1) * shape.get(2) * shape.get(3) != perImage
                    || shape.get(2) != size || shape.get(3) != size) {
                throw new IllegalArgumentException("tensor '" + TENSOR_INPUT + "' of " + file + " has shape " + shape
                        + "; the model takes [N, " + perImage / (size * size) + ", " + size + ", " + size + "] (see --image-size)");
            }
            float[] v = src.readFloats(TENSOR_INPUT);
            List<Source> out = new ArrayList<>();
            for (int i = 0; i < shape.getFirst(); i++) out.add(new Source.Tensor(file, i, v, i * perImage));
            return out;
        }
    }

    /** The named variants (with the checkpoint's num_classes) whose every parameter the checkpoint holds in its shape. */
    private static List<String> fittingVariants(TensorSource src, int classes) {
        List<String> keys = new ArrayList<>(src.names());
        String prefix = KeyNaming.wrapperPrefix(keys);
        KeyNaming naming = KeyNaming.detect(keys.stream().map(k -> k.substring(prefix.length())).toList());
        Map<String, List<Long>> shapes = new HashMap<>();
        for (String k : keys) shapes.put(naming.toTimm(k.substring(prefix.length())), src.info(k).shape());
        List<String> fits = new ArrayList<>();
        for (MambaOutConfig v : MambaOutConfig.VARIANTS) {
            List<ParameterSpec.Param> params = ParameterSpec.of(v.withNumClasses(classes)).params();
            boolean all = params.size() == shapes.size() && params.stream().allMatch(p -> {
                List<Long> s = shapes.get(p.name());
                return s != null && s.equals(p.shape().stream().map(Integer::longValue).toList());
            });
            if (all) fits.add(v.name());
        }
        return fits;
    }

    /** Rows of the checkpoint's classifier weight (its num_classes), or -1 when it has none. */
    private static int classifierRows(TensorSource src) {
        List<String> keys = new ArrayList<>(src.names());
        String prefix = KeyNaming.wrapperPrefix(keys);
        KeyNaming naming = KeyNaming.detect(keys.stream().map(k -> k.substring(prefix.length())).toList());
        for (String k : keys) {
            if (naming.toTimm(k.substring(prefix.length())).equals("head.fc.weight")) {
                List<Long> shape = src.info(k).shape();
                if (shape.size() == 2 && shape.getFirst() > 0 && shape.getFirst() <= Integer.MAX_VALUE) {
                    return Math.toIntExact(shape.getFirst());
                }
            }
        }
        return -1;
    }
}
