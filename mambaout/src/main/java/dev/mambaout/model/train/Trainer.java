package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mambaout.graph.DType;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.KeyNaming;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Drives a run: epochs of shuffled batches staged by a {@link BatchLoader}, one {@link TrainStep} per batch with
 * the schedule's learning rate, metrics every {@code logEvery} steps and per epoch, evaluation on the test split at
 * each epoch's end, and a checkpoint every {@code checkpointEvery} steps and at each epoch's end, so a killed run
 * loses at most the steps since its last checkpoint. Everything that decides the next step (weights, moments, step
 * count, the sample order from seed and epoch) is in the checkpoint, so a resumed run continues bit for bit.
 * <p>
 * Training batches are full ({@code drop_last}, as timm's training loader): a static graph has one batch size.
 */
public final class Trainer {

    public static final String CHECKPOINT = "checkpoint.safetensors";
    public static final String MODEL = "model.safetensors";
    public static final String METRICS = "metrics.jsonl";
    public static final String PLOT = "plot.png";

    /**
     * How the run reports and where it writes; none of this changes the trajectory.
     *
     * @param outDir          checkpoint, final model, metrics and plot
     * @param checkpointEvery steps between checkpoints (0: only at epoch ends)
     * @param logEvery        steps between metrics lines (and console lines when not on a terminal)
     * @param stopAtStep      stop after this many steps in all (0: run to the end); a checkpoint is written there
     * @param cluster         this process's place in a run over several machines ({@link Cluster#SINGLE}: one)
     */
    public record Options(Path outDir, int checkpointEvery, int logEvery, long stopAtStep, Cluster cluster) {
        public Options {
            if (checkpointEvery < 0) throw new IllegalArgumentException("checkpoint interval must be >= 0 (0: epoch ends only), got " + checkpointEvery);
            if (logEvery < 1) throw new IllegalArgumentException("log interval must be >= 1, got " + logEvery);
            if (stopAtStep < 0) throw new IllegalArgumentException("stop step must be >= 0 (0: the end), got " + stopAtStep);
            if (cluster == null) throw new IllegalArgumentException("cluster is required (Cluster.SINGLE for one machine)");
        }

        /** One machine. */
        public Options(Path outDir, int checkpointEvery, int logEvery, long stopAtStep) {
            this(outDir, checkpointEvery, logEvery, stopAtStep, Cluster.SINGLE);
        }
    }

    /** One finished epoch; the test fields are NaN without a test split. */
    public record EpochResult(int epoch, long step, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy) {}

    /** @param completedSteps updates done in all when the run returned */
    public record Summary(long completedSteps, long totalSteps, List<EpochResult> epochs) {}

    private final TrainConfig config;
    private final ParameterSpec spec;
    private final Dataset train;
    private final Dataset test;
    private final TrainStep step;
    private final Options options;
    private final PrintWriter out;
    private final boolean terminal;
    /** The run's sample order, as checkpoints record it (independent of the number of machines). */
    private final Sampler sampler;
    /** This machine's shard of it, which it trains on. */
    private final Sampler shard;
    /** This machine's share of each batch. */
    private final int localBatch;
    private final long stepsPerEpoch;

    /**
     * @param test     evaluated at each epoch's end; null for none
     * @param terminal whether {@code out} is an interactive terminal (the progress bar redraws one line)
     */
    public Trainer(TrainConfig config, Dataset train, Dataset test, TrainStep step, Options options, PrintWriter out,
                   boolean terminal) {
        this.config = config;
        this.spec = ParameterSpec.of(config.model());
        this.train = train;
        this.test = test;
        this.step = step;
        this.options = options;
        this.out = out;
        this.terminal = terminal;
        this.sampler = sampler(config, train);
        this.shard = shard(config, train, options.cluster());
        this.localBatch = options.cluster().nodeBatch(config.batch());
        this.stepsPerEpoch = stepsPerEpoch(config, train, options.cluster());
        checkData(config, train, "training");
        if (test != null) checkData(config, test, "test");
    }

    /** The order of the training samples for this configuration. */
    public static Sampler sampler(TrainConfig config, Dataset train) {
        return Sampler.single(train.size(), config.seed());
    }

    /**
     * Machine {@code cluster.node()}'s part of each epoch: the sampler's shard of that rank (padded by wrap-around, as
     * DistributedSampler does, so every machine takes the same number of steps).
     */
    public static Sampler shard(TrainConfig config, Dataset train, Cluster cluster) {
        if (cluster.nodes() == 1) return sampler(config, train);
        return new Sampler(train.size(), config.seed(), cluster.node(), cluster.nodes(), Sampler.Remainder.PAD);
    }

    public static long stepsPerEpoch(TrainConfig config, Dataset train) {
        return stepsPerEpoch(config, train, Cluster.SINGLE);
    }

    /** Full batches per epoch: of this machine's share of the batch, over its shard. */
    public static long stepsPerEpoch(TrainConfig config, Dataset train, Cluster cluster) {
        long s = shard(config, train, cluster).shardSize() / cluster.nodeBatch(config.batch());
        if (s < 1) {
            throw new IllegalArgumentException("--batch " + config.batch() + " is larger than the " + train.size()
                    + " training images: an epoch would have no full batch");
        }
        return s;
    }

    private static void checkData(TrainConfig c, Dataset d, String split) {
        if (d.channels() != c.model().inChans()) {
            throw new IllegalArgumentException("the " + split + " images have " + d.channels() + " channel" + (d.channels() == 1 ? "" : "s")
                    + " but the model takes " + c.model().inChans() + " (--in-chans)");
        }
        if (d.height() != c.imageSize() || d.width() != c.imageSize()) {
            throw new IllegalArgumentException("the " + split + " images are " + d.width() + "x" + d.height() + " but the run's image size is "
                    + c.imageSize() + " (--img-size)");
        }
        if (d.numClasses() > c.model().numClasses()) {
            throw new IllegalArgumentException("the " + split + " data has " + d.numClasses() + " classes but the model only "
                    + c.model().numClasses() + " (--num-classes)");
        }
    }

    public Summary run() throws IOException {
        long total = stepsPerEpoch * config.epochs();
        long done = step.completedSteps();
        if (done > total) throw new IllegalArgumentException("the run has " + total + " steps but the state has done " + done);
        long stop = options.stopAtStep() > 0 ? Math.min(options.stopAtStep(), total) : total;
        LrSchedule schedule = config.lrSchedule(total);
        Files.createDirectories(options.outDir());
        boolean writes = options.cluster().writes();
        // Machines other than node 0 keep their own metrics beside node 0's (the folder may be shared).
        Path checkpoint = options.outDir().resolve(CHECKPOINT), metricsFile = options.outDir().resolve(writes ? METRICS
                : "metrics-node" + options.cluster().node() + ".jsonl");

        out.printf(Locale.ROOT, "train    %s%n", train.describe());
        out.printf(Locale.ROOT, "test     %s%n", test == null ? "none" : test.describe());
        out.printf(Locale.ROOT, "model    mambaout_%s: %,d parameters, %d classes, %dx%d input, %d channel%s%n", config.model().name(),
                spec.count(), config.model().numClasses(), config.imageSize(), config.imageSize(), config.model().inChans(),
                config.model().inChans() == 1 ? "" : "s");
        out.printf(Locale.ROOT, "steps    %d epochs x %d steps of %d images = %d steps%s; %s lr %.3g, weight decay %.3g%n", config.epochs(),
                stepsPerEpoch, config.batch(), total, done > 0 ? ", resuming after step " + done : "",
                config.schedule().name().toLowerCase(Locale.ROOT), config.lr(), config.weightDecay());
        out.printf(Locale.ROOT, "device   %s%n", step.describe());
        out.flush();

        List<EpochResult> epochs = new ArrayList<>();
        List<StagingBuffer> buffers = List.of(step.stagingBuffer(localBatch), step.stagingBuffer(localBatch));
        ProgressBar bar = new ProgressBar(out, terminal, total, done, options.logEvery());
        long start = System.nanoTime();
        long lastCheckpoint = done;
        try (MetricsLog metrics = new MetricsLog(metricsFile, done)) {
            long s = done;
            while (s < stop) {
                int epoch = (int) (s / stepsPerEpoch);
                Interval epochStats = new Interval(), interval = new Interval();
                double lr = 0;
                try (BatchLoader loader = new BatchLoader(train, shard.indices(epoch), localBatch, true,
                        (int) (s % stepsPerEpoch), buffers)) {
                    for (BatchLoader.Batch b; s < stop && (b = loader.next()) != null; ) {
                        lr = schedule.lr(s);
                        TrainStep.StepResult r = step.step(b.buffer(), b.count(), lr);
                        loader.release(b);
                        s++;
                        if (!Double.isFinite(r.loss())) {
                            throw new IllegalArgumentException(String.format(Locale.ROOT, "training diverged: the loss is %s at "
                                    + "step %d (lr %.3g); the checkpoint %s holds step %d. Lower --lr or set --clip-grad",
                                    r.loss(), s, lr, checkpoint, lastCheckpoint));
                        }
                        interval.add(r, b.count());
                        epochStats.add(r, b.count());
                        bar.update(s, epoch + 1, config.epochs(), interval.loss(), interval.imagesPerSecond());
                        if (s % options.logEvery() == 0) {
                            ObjectNode line = MetricsLog.line(MetricsLog.STEP, epoch + 1, s, lr, interval.loss(), interval.accuracy(),
                                    interval.imagesPerSecond(), seconds(start));
                            line.put("grad_norm", interval.gradNorm());
                            metrics.write(line);
                            interval = new Interval();
                        }
                        if (writes && options.checkpointEvery() > 0 && s % options.checkpointEvery() == 0 && s % stepsPerEpoch != 0) {
                            save(checkpoint);
                            lastCheckpoint = s;
                        }
                    }
                }
                if (s % stepsPerEpoch == 0) {
                    epochs.add(endEpoch(epoch, s, lr, epochStats, metrics, start, bar, buffers));
                    if (!writes) continue;
                    save(checkpoint);
                    lastCheckpoint = s;
                    try {
                        TrainingPlot.write(metricsFile, options.outDir().resolve(PLOT));
                    } catch (LinkageError noAwt) {
                        // A runtime without java.desktop (the GPU bundle's jlinked JRE) cannot draw: keep training.
                        out.println("plot     skipped: this Java runtime has no java.desktop (" + noAwt + ")");
                    }
                }
            }
            if (!writes) {
                bar.message("node " + options.cluster().node() + " stopped at step " + s + " of " + total
                        + "; node 0 writes the checkpoints and the model");
                return new Summary(s, total, epochs);
            }
            if (lastCheckpoint != s) {
                save(checkpoint);
                bar.message("stopped at step " + s + " of " + total + "; resume with --resume " + checkpoint);
            }
            if (s == total) {
                Path model = options.outDir().resolve(MODEL);
                Checkpoints.save(model, spec, step.state().weights(), DType.F32, KeyNaming.TIMM);
                bar.message("done     " + total + " steps; weights (timm names) in " + model + ", checkpoint " + checkpoint
                        + ", metrics " + metricsFile);
            }
            return new Summary(s, total, epochs);
        }
    }

    private EpochResult endEpoch(int epoch, long s, double lr, Interval stats, MetricsLog metrics, long start,
                                 ProgressBar bar, List<StagingBuffer> buffers) throws IOException {
        double testLoss = Double.NaN, testAcc = Double.NaN;
        ObjectNode line = MetricsLog.line(MetricsLog.EPOCH, epoch + 1, s, lr, stats.loss(), stats.accuracy(),
                stats.imagesPerSecond(), seconds(start));
        if (test != null) {
            double[] e = evaluate(buffers);
            testLoss = e[0];
            testAcc = e[1];
            line.put("test_loss", testLoss);
            line.put("test_accuracy", testAcc);
        }
        metrics.write(line);
        bar.message(String.format(Locale.ROOT, "epoch %d/%d  train loss %.4f acc %.2f%%%s  %.0f img/s  %.1f s", epoch + 1,
                config.epochs(), stats.loss(), 100 * stats.accuracy(),
                test == null ? "" : String.format(Locale.ROOT, "  test loss %.4f acc %.2f%%", testLoss, 100 * testAcc),
                stats.imagesPerSecond(), seconds(start)));
        return new EpochResult(epoch + 1, s, stats.loss(), stats.accuracy(), testLoss, testAcc);
    }

    /** Mean cross-entropy (no smoothing) and top-1 accuracy over the whole test split. */
    private double[] evaluate(List<StagingBuffer> buffers) throws IOException {
        int[] order = new int[test.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        int classes = config.model().numClasses();
        double lossSum = 0;
        long right = 0;
        try (BatchLoader loader = new BatchLoader(test, order, localBatch, false, 0, buffers)) {
            for (BatchLoader.Batch b; (b = loader.next()) != null; ) {
                float[] logits = step.logits(b.buffer(), b.count());
                int[] labels = b.buffer().labelArray(b.count());
                loader.release(b);
                lossSum += Classification.crossEntropySum(logits, labels, classes);
                right += Classification.correct(logits, labels, classes);
            }
        }
        return new double[] {lossSum / order.length, (double) right / order.length};
    }

    private void save(Path checkpoint) throws IOException {
        TrainCheckpoint.save(checkpoint, config, spec, step.state(), sampler, stepsPerEpoch);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Running means of the loss and accuracy over some steps, and their throughput. */
    private static final class Interval {
        private final long start = System.nanoTime();
        private double lossSum, gradNormSum;
        private long correct, images, steps;

        void add(TrainStep.StepResult r, int count) {
            lossSum += r.loss();
            gradNormSum += r.gradNorm();
            correct += r.correct();
            images += count;
            steps++;
        }

        double loss() { return steps == 0 ? Double.NaN : lossSum / steps; }

        /** Mean global gradient norm before clipping: the first sign of a learning rate too high. */
        double gradNorm() { return steps == 0 ? Double.NaN : gradNormSum / steps; }

        double accuracy() { return images == 0 ? Double.NaN : (double) correct / images; }

        double imagesPerSecond() { return images / Math.max(1e-9, (System.nanoTime() - start) / 1e9); }
    }
}
