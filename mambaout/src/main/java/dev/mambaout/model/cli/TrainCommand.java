package dev.mambaout.model.cli;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.KeyNaming;
import dev.mambaout.model.checkpoint.TensorSource;
import dev.mambaout.model.image.EvalTransform;
import dev.mambaout.model.infer.DeviceChoice;
import dev.mambaout.model.train.CpuTrainStep;
import dev.mambaout.model.train.Dataset;
import dev.mambaout.model.train.Cluster;
import dev.mambaout.model.train.DataParallelTrainStep;
import dev.mambaout.model.train.GpuTrainStep;
import dev.mambaout.model.train.IdxDataset;
import dev.mambaout.model.train.ImageFolderDataset;
import dev.mambaout.model.train.TrainCheckpoint;
import dev.mambaout.model.train.TrainConfig;
import dev.mambaout.model.train.TrainState;
import dev.mambaout.model.train.TrainStep;
import dev.mambaout.model.train.Trainer;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaUnavailableException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code mambaout train}: trains a variant on Fashion-MNIST (Debian's IDX files) or an image folder, on the CPU
 * executor for now, with checkpoints, resume, metrics, a plot and fine-tuning from a timm checkpoint.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a MambaOut variant on Fashion-MNIST or an image folder, on the GPU (one CUDA graph per step) or the CPU executor.")
final class TrainCommand implements Callable<Integer> {

    enum DatasetKind {
        FASHION_MNIST, FOLDER;

        /** picocli shows and parses the constants' names; the CLI spells them as the README does. */
        static final class Converter implements CommandLine.ITypeConverter<DatasetKind> {
            @Override
            public DatasetKind convert(String value) {
                return switch (value.toLowerCase(java.util.Locale.ROOT)) {
                    case "fashion-mnist", "fashion_mnist", "mnist" -> FASHION_MNIST;
                    case "folder" -> FOLDER;
                    default -> throw new CommandLine.TypeConversionException("unknown dataset '" + value + "'; expected fashion-mnist or folder");
                };
            }
        }
    }

    @Option(names = {"-m", "--model"}, defaultValue = "femto", paramLabel = "VARIANT", description = "Variant (see 'mambaout models'). Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST's IDX files (default: ${DEFAULT-VALUE}, where Debian's "
            + "package dataset-fashion-mnist puts them), or for --dataset folder a directory with train/ and test/ (or val/) "
            + "holding one subfolder per class.", defaultValue = "/usr/share/datasets/fashion-mnist")
    Path data;

    @Option(names = "--dataset", defaultValue = "fashion-mnist", paramLabel = "fashion-mnist|folder", converter = DatasetKind.Converter.class,
            description = "Kind of data. Default: ${DEFAULT-VALUE}.")
    DatasetKind dataset;

    @Option(names = "--in-chans", paramLabel = "C", description = "Input channels of the model. Default: the data's (1 for Fashion-MNIST, 3 for a folder).")
    Integer inChans;

    @Option(names = "--num-classes", paramLabel = "K", description = "Classes of the model's head. Default: the data's.")
    Integer numClasses;

    @Option(names = "--img-size", defaultValue = "32", paramLabel = "PIXELS", description = "Input size; Fashion-MNIST's 28x28 images are "
            + "zero-padded to it (an even padding). Default: ${DEFAULT-VALUE}.")
    int imgSize;

    @Option(names = "--mean", defaultValue = "0.2860", paramLabel = "M", description = "Fashion-MNIST normalisation mean. Default: ${DEFAULT-VALUE}.")
    float mean;

    @Option(names = "--std", defaultValue = "0.3530", paramLabel = "S", description = "Fashion-MNIST normalisation std. Default: ${DEFAULT-VALUE}.")
    float std;

    @Option(names = {"-b", "--batch"}, defaultValue = "256", paramLabel = "N", description = "Batch size. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--epochs", defaultValue = "5", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--lr", defaultValue = "2e-3", paramLabel = "LR", description = "Peak learning rate. Default: ${DEFAULT-VALUE}.")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0.05", paramLabel = "WD", description = "AdamW's decoupled weight decay (not on "
            + "norms, biases and LayerScale). Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--schedule", defaultValue = "onecycle", paramLabel = "onecycle|cosine", description = "Learning-rate schedule: "
            + "PyTorch's OneCycleLR, or linear warmup then cosine to 0. Default: ${DEFAULT-VALUE}.")
    TrainConfig.Schedule schedule;

    @Option(names = "--warmup-pct", defaultValue = "0.1", paramLabel = "F", description = "Fraction of the steps spent warming up. Default: ${DEFAULT-VALUE}.")
    double warmupPct;

    @Option(names = "--label-smoothing", defaultValue = "0.1", paramLabel = "S", description = "Default: ${DEFAULT-VALUE}.")
    double labelSmoothing;

    @Option(names = "--clip-grad", defaultValue = "0", paramLabel = "NORM", description = "Clip the global gradient norm to NORM (0: off). Default: ${DEFAULT-VALUE}.")
    double clipGrad;

    @Option(names = "--drop-path", defaultValue = "0", paramLabel = "RATE", description = "Stochastic depth of the last block "
            + "(timm's drop_path_rate; blocks get timm's linear schedule from 0), masks drawn from --seed and the step. "
            + "Default: ${DEFAULT-VALUE}.")
    double dropPath;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "SEED", description = "Seed of the initial weights and the sample order. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--out", defaultValue = "mambaout-train", paramLabel = "DIR", description = "Where checkpoint.safetensors, "
            + "model.safetensors, metrics.jsonl and plot.png go. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--resume", paramLabel = "FILE", description = "Continue exactly where the run that wrote this checkpoint stopped "
            + "(give the same options).")
    Path resume;

    @Option(names = "--init-from", paramLabel = "FILE", description = "Start from a timm checkpoint's weights (fine-tuning): a head of "
            + "another --num-classes is re-initialised; the optimiser starts afresh.")
    Path initFrom;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "cpu|gpu|auto", description = "Default: ${DEFAULT-VALUE} (the GPU "
            + "when one is usable, else the CPU executor, said in one log line).")
    DeviceChoice device;

    @Option(names = "--precision", defaultValue = "bf16", paramLabel = "bf16|f32|tf32", description = "GPU training precision: bf16 "
            + "activations and GEMM operands with f32 master weights, accumulation and statistics, or f32 throughout (the CPU "
            + "executor always computes in float with double accumulation). Default: ${DEFAULT-VALUE}.")
    dev.mambaout.runtime.exec.Precision precision;

    @Option(names = "--gpus", paramLabel = "LIST|all", description = "Data-parallel training on these GPUs of this machine "
            + "(e.g. 0,1,2,3 or all) through NCCL: --batch is the global batch, split evenly over them. Set NCCL_NVLS_ENABLE=0 "
            + "where NVLink multicast must stay off. Default: one GPU (ordinal 0).")
    String gpus;

    @Option(names = "--nodes", defaultValue = "1", paramLabel = "N", description = "Machines taking part, one process each "
            + "(with --gpus on each): --batch is the global batch over all their GPUs. Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--node-rank", defaultValue = "0", paramLabel = "K", description = "This machine's index in [0, --nodes); "
            + "node 0 writes the checkpoints, metrics, plot and model. Default: ${DEFAULT-VALUE}.")
    int nodeRank;

    @Option(names = "--rendezvous", paramLabel = "FILE", description = "With --nodes > 1: a new file on storage every machine "
            + "sees, where node 0 leaves NCCL's id for the others (a fresh path per run).")
    Path rendezvous;

    @Option(names = "--rendezvous-timeout", defaultValue = "300", paramLabel = "SECONDS", description = "How long the "
            + "other nodes wait for node 0's id. Default: ${DEFAULT-VALUE}.")
    long rendezvousTimeout;

    @Option(names = "--limit-train", paramLabel = "N", description = "Use only the first N training images.")
    Integer limitTrain;

    @Option(names = "--limit-test", paramLabel = "N", description = "Evaluate only the first N test images.")
    Integer limitTest;

    @Option(names = "--checkpoint-every", defaultValue = "100", paramLabel = "STEPS", description = "Steps between checkpoints, besides "
            + "each epoch's end (0: epoch ends only). Default: ${DEFAULT-VALUE}.")
    int checkpointEvery;

    @Option(names = "--log-every", defaultValue = "20", paramLabel = "STEPS", description = "Steps between metrics lines. Default: ${DEFAULT-VALUE}.")
    int logEvery;

    @Option(names = "--stop-at-step", defaultValue = "0", paramLabel = "STEP", description = "Stop after this many steps in all and "
            + "write a checkpoint (0: train to the end); --resume continues later.")
    long stopAtStep;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try {
            return train(spec.commandLine().getOut());
        } catch (OutOfMemoryError e) {
            throw new IllegalArgumentException("out of memory (heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB) at --batch "
                    + batch + " and --img-size " + imgSize + ": use a smaller --batch, or give Java more heap (JAVA_OPTS=-Xmx...)", e);
        }
    }

    private int train(PrintWriter log) throws IOException {
        if (resume != null && initFrom != null) {
            throw new IllegalArgumentException("--resume and --init-from exclude each other: a resumed run takes its weights from its checkpoint");
        }
        Dataset[] splits = datasets();
        Dataset train = splits[0], test = splits[1];
        if (limitTrain != null) train = train.limit(limitTrain);
        if (test != null && limitTest != null) test = test.limit(limitTest);
        MambaOutConfig base = MambaOutConfig.variant(model);
        MambaOutConfig config = base.withInChans(inChans != null ? inChans : train.channels())
                .withNumClasses(numClasses != null ? numClasses : train.numClasses()).withDropPathRate(dropPath);
        TrainConfig tc = new TrainConfig(config, imgSize, batch, epochs, lr, weightDecay, schedule, warmupPct, labelSmoothing,
                clipGrad, seed);
        ParameterSpec pspec = ParameterSpec.of(config);

        TrainState state;
        if (resume != null) {
            state = TrainCheckpoint.load(resume, tc, pspec, Trainer.sampler(tc, train), Trainer.stepsPerEpoch(tc, train, cluster()));
            log.println("resume   " + resume + " at step " + state.step());
        } else {
            Path existing = out.resolve(Trainer.CHECKPOINT);
            if (Files.exists(existing)) {
                throw new IllegalArgumentException(out + " already holds " + Trainer.CHECKPOINT + " of an earlier run: continue it with "
                        + "--resume " + existing + ", or choose another --out");
            }
            state = TrainState.fresh(pspec, initFrom != null ? initialWeights(log, pspec) : RandomInit.draw(pspec, seed));
            if (initFrom == null) log.println("weights  random (timm init, seed " + seed + ")");
        }
        boolean terminal = System.console() != null && System.console().isTerminal();
        try (TrainStep step = trainStep(log, tc, state)) {
            new Trainer(tc, train, test, step,
                    new Trainer.Options(out, checkpointEvery, logEvery, stopAtStep, cluster()), log, terminal).run();
            return 0;
        }
    }

    /** The GPU step for --device gpu (or auto with a usable GPU), else the CPU executor's. */
    private TrainStep trainStep(PrintWriter log, TrainConfig tc, TrainState state) {
        Cluster cluster = cluster();
        if (gpus != null) {
            if (device == DeviceChoice.CPU) throw new IllegalArgumentException("--gpus needs --device gpu (or auto), not cpu");
            try {
                return new DataParallelTrainStep(tc, state, precision, Cuda.configuredBackend(), gpuOrdinals(gpus), cluster);
            } catch (CudaUnavailableException e) {
                throw new IllegalArgumentException("--gpus " + gpus + ": " + e.getMessage(), e);
            }
        }
        if (device == DeviceChoice.CPU) return new CpuTrainStep(tc, state);
        try {
            return new GpuTrainStep(tc, state, precision, Cuda.configuredBackend(), 0);
        } catch (CudaUnavailableException e) {
            if (device == DeviceChoice.GPU) throw new IllegalArgumentException("--device gpu: " + e.getMessage(), e);
            log.println("device   auto: the CPU executor (" + e.getMessage() + ")");
            return new CpuTrainStep(tc, state);
        }
    }

    /** --nodes, --node-rank, --rendezvous: one machine unless --nodes says otherwise (then --gpus is required). */
    private Cluster cluster() {
        if (nodes == 1 && nodeRank == 0 && rendezvous == null) return Cluster.SINGLE;
        if (nodes > 1 && gpus == null) throw new IllegalArgumentException("--nodes " + nodes + " needs --gpus (the GPUs of this machine)");
        if (rendezvousTimeout < 0) throw new IllegalArgumentException("--rendezvous-timeout must be >= 0 seconds, got " + rendezvousTimeout);
        return new Cluster(nodes, nodeRank, rendezvous, java.time.Duration.ofSeconds(rendezvousTimeout));
    }

    /** "all" (every GPU the driver sees) or a comma list of distinct ordinals. */
    static int[] gpuOrdinals(String list) {
        if (list.strip().equalsIgnoreCase("all")) {
            Cuda.Availability a = Cuda.availability();
            if (!a.available()) throw new IllegalArgumentException("--gpus all: no usable GPU: " + a.reason());
            int n = Cuda.open().deviceCount();
            int[] all = new int[n];
            for (int i = 0; i < n; i++) all[i] = i;
            return all;
        }
        String[] parts = list.split(",", -1);
        int[] out = new int[parts.length];
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--gpus takes 'all' or GPU ordinals separated by commas (e.g. 0,1), got '"
                        + list + "'");
            }
            if (out[i] < 0 || !seen.add(out[i])) {
                throw new IllegalArgumentException("--gpus: ordinals must be distinct and >= 0, got '" + list + "'");
            }
        }
        return out;
    }

    /** {train, test (or null)}. */
    private Dataset[] datasets() throws IOException {
        return switch (dataset) {
            case FASHION_MNIST -> {
                int pad = (imgSize - 28) / 2;
                if (imgSize < 28 || (imgSize - 28) % 2 != 0) {
                    throw new IllegalArgumentException("--img-size " + imgSize + ": Fashion-MNIST's 28x28 images are zero-padded "
                            + "evenly, so the size must be 28, 30, 32, ...");
                }
                IdxDataset.Transform t = new IdxDataset.Transform(pad, mean, std);
                yield new Dataset[] {IdxDataset.fashionMnist(data, IdxDataset.Split.TRAIN, t),
                        IdxDataset.fashionMnist(data, IdxDataset.Split.TEST, t)};
            }
            case FOLDER -> {
                Path trainDir = data.resolve("train");
                if (!Files.isDirectory(trainDir)) {
                    throw new IllegalArgumentException("--data " + data + " has no train/ folder: an image-folder dataset is DIR/train/"
                            + "<class>/<image> and DIR/test/<class>/<image> (or val/), the classes sorted by name");
                }
                EvalTransform transform = new EvalTransform(imgSize, MambaOutConfig.variant(model).cropPct(),
                        EvalTransform.IMAGENET_MEAN, EvalTransform.IMAGENET_STD);
                ImageFolderDataset train = ImageFolderDataset.open(trainDir, transform);
                ImageFolderDataset test = null;
                for (String name : List.of("test", "val")) {
                    if (Files.isDirectory(data.resolve(name))) {
                        test = ImageFolderDataset.open(data.resolve(name), transform, train.classes());
                        break;
                    }
                }
                yield new Dataset[] {train, test};
            }
        };
    }

    /** The checkpoint's weights for every parameter but a classifier of another shape, which gets timm's init. */
    private Map<String, float[]> initialWeights(PrintWriter log, ParameterSpec pspec) throws IOException {
        if (!Files.exists(initFrom)) throw new IOException("--init-from " + initFrom + " does not exist");
        try (TensorSource src = TensorSource.open(initFrom)) {
            List<String> keys = new ArrayList<>(src.names());
            String prefix = KeyNaming.wrapperPrefix(keys);
            KeyNaming naming = KeyNaming.detect(keys.stream().map(k -> k.substring(prefix.length())).toList());
            for (String k : keys) {
                if (naming.toTimm(k.substring(prefix.length())).equals("stem.conv1.weight")) {
                    List<Long> shape = src.info(k).shape();
                    int want = pspec.config().inChans();
                    if (shape.size() == 4 && shape.get(1) != want) {
                        throw new IllegalArgumentException("--init-from " + initFrom + " has in_chans " + shape.get(1) + " (" + k + " "
                                + shape + ") but this run's model takes " + want + " (--in-chans); fine-tuning keeps the stem, so "
                                + "the channel counts must agree");
                    }
                }
            }
            Checkpoints.Loaded<float[]> loaded = Checkpoints.loadFloats(src, pspec, Checkpoints.Mode.NEW_HEAD);
            log.println("weights  " + initFrom + " (" + naming.name().toLowerCase(java.util.Locale.ROOT) + " key names)"
                    + (loaded.reinitialized().isEmpty() ? "" : "; new head: " + String.join(", ", loaded.reinitialized())
                    + " re-initialised for " + pspec.config().numClasses() + " classes"));
            return loaded.values();
        }
    }
}
