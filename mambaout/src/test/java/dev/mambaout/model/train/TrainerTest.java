package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.cli.RandomInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer on the CPU executor with a tiny model and a few hundred synthetic images. */
class TrainerTest {

    @TempDir static Path shared;
    static IdxDataset train, test;

    @BeforeAll
    static void data() throws IOException {
        Path dir = Synthetic.writeSplits(shared.resolve("data"), 320, 100, Synthetic.SIDE);
        train = IdxDataset.fashionMnist(dir, IdxDataset.Split.TRAIN, Synthetic.TRANSFORM);
        test = IdxDataset.fashionMnist(dir, IdxDataset.Split.TEST, Synthetic.TRANSFORM);
    }

    static TrainState fresh(TrainConfig c) {
        ParameterSpec spec = ParameterSpec.of(c.model());
        return TrainState.fresh(spec, RandomInit.draw(spec, c.seed()));
    }

    static Trainer.Summary run(TrainConfig c, TrainState start, Path out, int checkpointEvery, long stopAt, StringWriter log)
            throws IOException {
        try (CpuTrainStep step = new CpuTrainStep(c, start)) {
            return new Trainer(c, train, test, step, new Trainer.Options(out, checkpointEvery, 5, stopAt),
                    new PrintWriter(log, true), false).run();
        }
    }

    @Test
    void lossFallsAndAccuracyRises(@TempDir Path out) throws IOException {
        TrainConfig c = Synthetic.config(32, 4, 1e-2);
        StringWriter log = new StringWriter();
        long t0 = System.nanoTime();
        Trainer.Summary s = run(c, fresh(c), out, 0, 0, log);
        System.out.printf("tiny model, 4 epochs of 10 steps: %.1f s%n%s", (System.nanoTime() - t0) / 1e9, log);
        assertEquals(40, s.completedSteps());
        List<Trainer.EpochResult> e = s.epochs();
        assertEquals(4, e.size());
        // Chance is ln(10) = 2.30 and 10%.
        assertTrue(e.getLast().trainLoss() < 0.6 * e.getFirst().trainLoss(), e.toString());
        assertTrue(e.getLast().testAccuracy() > 0.5, e.toString());
        assertTrue(e.getLast().testLoss() < 1.5, e.toString());
    }

    @Test
    void metricsAndPlotDescribeTheRun(@TempDir Path out) throws IOException {
        TrainConfig c = Synthetic.config(32, 2, 1e-2);
        Trainer.Summary s = run(c, fresh(c), out, 0, 0, new StringWriter());
        List<JsonNode> lines = MetricsLog.read(out.resolve(Trainer.METRICS));
        List<JsonNode> steps = lines.stream().filter(n -> n.get("kind").asText().equals("step")).toList();
        List<JsonNode> epochs = lines.stream().filter(n -> n.get("kind").asText().equals("epoch")).toList();
        assertEquals(List.of(5L, 10L, 15L, 20L), steps.stream().map(n -> n.get("step").asLong()).toList());
        assertEquals(List.of(1, 1, 2, 2), steps.stream().map(n -> n.get("epoch").asInt()).toList());
        assertEquals(2, epochs.size());
        LrSchedule schedule = c.lrSchedule(20);
        for (JsonNode n : lines) {
            for (String k : List.of("epoch", "step", "lr", "loss", "accuracy", "img_per_s", "seconds")) assertTrue(n.has(k), k + " in " + n);
            assertEquals(schedule.lr(n.get("step").asLong() - 1), n.get("lr").asDouble(), 0, n.toString());
            if (n.get("kind").asText().equals("step")) assertTrue(n.get("grad_norm").asDouble() > 0, n.toString());
            double acc = n.get("accuracy").asDouble();
            assertTrue(acc >= 0 && acc <= 1 && n.get("img_per_s").asDouble() > 0, n.toString());
        }
        for (int e = 0; e < 2; e++) {
            JsonNode n = epochs.get(e);
            Trainer.EpochResult r = s.epochs().get(e);
            assertEquals(e + 1, n.get("epoch").asInt());
            assertEquals(10L * (e + 1), n.get("step").asLong());
            assertEquals(r.trainLoss(), n.get("loss").asDouble(), 0);
            assertEquals(r.testLoss(), n.get("test_loss").asDouble(), 0);
            assertEquals(r.testAccuracy(), n.get("test_accuracy").asDouble(), 0);
            // 100 test images: the accuracy is a whole number of them.
            assertEquals(0, Math.IEEEremainder(r.testAccuracy() * 100, 1), 1e-9);
        }
        assertTrue(steps.get(1).get("seconds").asDouble() >= steps.get(0).get("seconds").asDouble());

        byte[] png = Files.readAllBytes(out.resolve(Trainer.PLOT));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10}, java.util.Arrays.copyOf(png, 8));
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(out.resolve(Trainer.PLOT).toFile());
        assertEquals(2 * TrainingPlot.WIDTH, img.getWidth());
        assertEquals(TrainingPlot.HEIGHT, img.getHeight());

        // The final model is a plain timm-named checkpoint of the last weights.
        TrainState last = TrainCheckpoint.load(out.resolve(Trainer.CHECKPOINT), c, ParameterSpec.of(c.model()),
                Trainer.sampler(c, train), 10);
        assertEquals(20, last.step());
        var model = dev.mambaout.model.checkpoint.Checkpoints.loadFloats(out.resolve(Trainer.MODEL), ParameterSpec.of(c.model()),
                dev.mambaout.model.checkpoint.Checkpoints.Mode.STRICT);
        for (var e : last.weights().entrySet()) assertArrayEquals(e.getValue(), model.values().get(e.getKey()), e.getKey());
    }

    @Test
    void resumeContinuesBitForBit(@TempDir Path straight, @TempDir Path split) throws IOException {
        TrainConfig c = Synthetic.config(32, 2, 1e-2);
        ParameterSpec spec = ParameterSpec.of(c.model());
        run(c, fresh(c), straight, 0, 17, new StringWriter());
        run(c, fresh(c), split, 0, 7, new StringWriter());
        TrainState at7 = TrainCheckpoint.load(split.resolve(Trainer.CHECKPOINT), c, spec, Trainer.sampler(c, train), 10);
        assertEquals(7, at7.step());
        StringWriter log = new StringWriter();
        run(c, at7, split, 0, 17, log);
        assertTrue(log.toString().contains("resuming after step 7"), log.toString());

        TrainState a = TrainCheckpoint.load(straight.resolve(Trainer.CHECKPOINT), c, spec, Trainer.sampler(c, train), 10);
        TrainState b = TrainCheckpoint.load(split.resolve(Trainer.CHECKPOINT), c, spec, Trainer.sampler(c, train), 10);
        assertEquals(17, a.step());
        assertEquals(17, b.step());
        assertBitIdentical(a, b);
        // The resumed metrics file has each step once, as the straight run's.
        assertEquals(steps(straight), steps(split));
    }

    @Test
    void aKilledRunLosesOnlyTheStepsSinceItsLastCheckpoint(@TempDir Path killed, @TempDir Path straight) throws IOException {
        TrainConfig c = Synthetic.config(32, 2, 1e-2);
        ParameterSpec spec = ParameterSpec.of(c.model());
        // The process dies during step 9 (after 8 updates); checkpoints every 3 steps.
        try (CpuTrainStep cpu = new CpuTrainStep(c, fresh(c)); TrainStep dying = new Dying(cpu, 8)) {
            Trainer t = new Trainer(c, train, test, dying, new Trainer.Options(killed, 3, 5, 0), new PrintWriter(new StringWriter()), false);
            assertThrows(IllegalStateException.class, t::run);
        }
        TrainState saved = TrainCheckpoint.load(killed.resolve(Trainer.CHECKPOINT), c, spec, Trainer.sampler(c, train), 10);
        assertEquals(6, saved.step());
        run(c, saved, killed, 3, 13, new StringWriter());
        run(c, fresh(c), straight, 3, 13, new StringWriter());
        assertBitIdentical(TrainCheckpoint.load(straight.resolve(Trainer.CHECKPOINT), c, spec, Trainer.sampler(c, train), 10),
                TrainCheckpoint.load(killed.resolve(Trainer.CHECKPOINT), c, spec, Trainer.sampler(c, train), 10));
        assertEquals(steps(straight), steps(killed));
    }

    @Test
    void aCheckpointOfAnotherRunIsRefused(@TempDir Path out) throws IOException {
        TrainConfig c = Synthetic.config(32, 2, 1e-2);
        run(c, fresh(c), out, 0, 2, new StringWriter());
        Path ckpt = out.resolve(Trainer.CHECKPOINT);
        TrainConfig other = new TrainConfig(Synthetic.TINY.withNumClasses(12), Synthetic.SIZE, 16, 2, 1e-2, 0.05,
                TrainConfig.Schedule.COSINE, 0.1, 0.1, 1.0, 7);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainCheckpoint.load(ckpt, other, ParameterSpec.of(other.model()), Trainer.sampler(other, train), 20));
        String m = e.getMessage();
        assertTrue(m.contains("belongs to another model or run configuration (3 differences"), m);
        assertTrue(m.contains("model.num_classes: 10 vs 12") && m.contains("batch: 32 vs 16") && m.contains("schedule: \"onecycle\" vs \"cosine\""), m);
        e = assertThrows(IllegalArgumentException.class,
                () -> TrainCheckpoint.load(ckpt, c, ParameterSpec.of(c.model()), Sampler.single(300, 7), 9));
        assertTrue(e.getMessage().contains("sampler.samples: 320 vs 300"), e.getMessage());
        Path plain = out.resolve("plain.safetensors");
        dev.mambaout.model.checkpoint.Checkpoints.save(plain, ParameterSpec.of(c.model()), fresh(c).weights(),
                dev.mambaout.graph.DType.F32, dev.mambaout.model.checkpoint.KeyNaming.TIMM);
        e = assertThrows(IllegalArgumentException.class,
                () -> TrainCheckpoint.load(plain, c, ParameterSpec.of(c.model()), Trainer.sampler(c, train), 10));
        assertTrue(e.getMessage().contains("was not written by 'mambaout train'") && e.getMessage().contains("--init-from"), e.getMessage());
    }

    private static List<Long> steps(Path out) throws IOException {
        return MetricsLog.read(out.resolve(Trainer.METRICS)).stream().map(n -> n.get("step").asLong()).toList();
    }

    private static void assertBitIdentical(TrainState a, TrainState b) {
        for (String k : a.weights().keySet()) {
            assertTrue(java.util.Arrays.equals(a.weights().get(k), b.weights().get(k)), "weights " + k);
            assertTrue(java.util.Arrays.equals(a.expAvg().get(k), b.expAvg().get(k)), "exp_avg " + k);
            assertTrue(java.util.Arrays.equals(a.expAvgSq().get(k), b.expAvgSq().get(k)), "exp_avg_sq " + k);
        }
    }

    @Test
    void aSecondMachineTrainsOnItsShardWithItsShareOfTheBatchAndWritesNoCheckpoint(@TempDir Path out) throws IOException {
        // Global batch 32 over 2 machines: node 1 stages 16 samples per step from its half of each epoch.
        TrainConfig c = Synthetic.config(32, 2, 1e-2);
        Cluster node1 = new Cluster(2, 1, out.resolve("rendezvous"), java.time.Duration.ZERO);
        TrainConfig local = new TrainConfig(c.model(), c.imageSize(), 16, c.epochs(), c.lr(), c.weightDecay(), c.schedule(),
                c.warmupPct(), c.labelSmoothing(), c.clipGrad(), c.seed());
        List<int[]> seen = new java.util.ArrayList<>();
        try (CpuTrainStep cpu = new CpuTrainStep(local, fresh(c)); TrainStep recording = new Recording(cpu, seen)) {
            Trainer.Summary s = new Trainer(c, train, null, recording, new Trainer.Options(out, 3, 5, 0, node1),
                    new PrintWriter(new StringWriter()), false).run();
            // 320 samples: a shard of 160, 10 steps of 16 per epoch, as on one machine with batches of 32.
            assertEquals(10, Trainer.stepsPerEpoch(c, train, node1));
            assertEquals(Trainer.stepsPerEpoch(c, train), Trainer.stepsPerEpoch(c, train, node1));
            assertEquals(20, s.completedSteps());
        }
        Sampler shard = Trainer.shard(c, train, node1);
        assertEquals(new Sampler(320, c.seed(), 1, 2, Sampler.Remainder.PAD), shard);
        for (int epoch = 0; epoch < 2; epoch++) {
            int[] order = shard.indices(epoch);
            for (int b = 0; b < 10; b++) {
                int[] labels = seen.get(epoch * 10 + b);
                assertEquals(16, labels.length);
                for (int i = 0; i < 16; i++) assertEquals(train.label(order[b * 16 + i]), labels[i], "epoch " + epoch + " step " + b);
            }
        }
        assertFalse(Files.exists(out.resolve(Trainer.CHECKPOINT)), "node 0 writes the checkpoints");
        assertFalse(Files.exists(out.resolve(Trainer.MODEL)), "node 0 writes the model");
        assertFalse(Files.exists(out.resolve(Trainer.METRICS)), "node 0's metrics file is its own");
        assertTrue(Files.exists(out.resolve("metrics-node1.jsonl")));
        assertThrows(IllegalArgumentException.class, () -> new Cluster(2, 2, out, java.time.Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new Cluster(2, 0, null, java.time.Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new Cluster(3, 0, out, java.time.Duration.ZERO).nodeBatch(32));
    }

    @Test
    void aCheckpointOfATwoMachineRunResumesOnOneMachine(@TempDir Path out) throws IOException {
        // Node 0 of 2 (16 samples per step of the 32-sample batch) stops after 7 steps; one machine resumes the run.
        TrainConfig c = Synthetic.config(32, 1, 1e-2);
        TrainConfig local = new TrainConfig(c.model(), c.imageSize(), 16, c.epochs(), c.lr(), c.weightDecay(), c.schedule(),
                c.warmupPct(), c.labelSmoothing(), c.clipGrad(), c.seed());
        Cluster node0 = new Cluster(2, 0, out.resolve("rendezvous"), java.time.Duration.ZERO);
        try (CpuTrainStep cpu = new CpuTrainStep(local, fresh(c))) {
            new Trainer(c, train, null, cpu, new Trainer.Options(out, 0, 5, 7, node0), new PrintWriter(new StringWriter()),
                    false).run();
        }
        ParameterSpec spec = ParameterSpec.of(c.model());
        TrainState at7 = TrainCheckpoint.load(out.resolve(Trainer.CHECKPOINT), c, spec, Trainer.sampler(c, train),
                Trainer.stepsPerEpoch(c, train));
        assertEquals(7, at7.step());
        try (CpuTrainStep cpu = new CpuTrainStep(c, at7)) {
            Trainer.Summary s = new Trainer(c, train, null, cpu, new Trainer.Options(out, 0, 5, 0),
                    new PrintWriter(new StringWriter()), false).run();
            assertEquals(10, s.completedSteps());
        }
        assertTrue(Files.exists(out.resolve(Trainer.MODEL)), "the resumed run finished and wrote the model");
    }

    /** A step that passes everything to another; the steps below change one call. */
    private interface Forwarding extends TrainStep {
        TrainStep inner();

        @Override default StagingBuffer stagingBuffer(int capacity) { return inner().stagingBuffer(capacity); }
        @Override default StepResult step(StagingBuffer batch, int count, double lr) { return inner().step(batch, count, lr); }
        @Override default float[] logits(StagingBuffer batch, int count) { return inner().logits(batch, count); }
        @Override default long completedSteps() { return inner().completedSteps(); }
        @Override default TrainState state() { return inner().state(); }
        @Override default String describe() { return inner().describe(); }
        @Override default void close() {}
    }

    /** A step that records each batch's labels. */
    private record Recording(TrainStep inner, List<int[]> labels) implements Forwarding {
        @Override public StepResult step(StagingBuffer batch, int count, double lr) {
            labels.add(batch.labelArray(count));
            return inner.step(batch, count, lr);
        }
    }

    /** A step that fails like a killed process after a number of updates. */
    private record Dying(TrainStep inner, long dieAfter) implements Forwarding {
        @Override public StepResult step(StagingBuffer batch, int count, double lr) {
            if (inner.completedSteps() == dieAfter) throw new IllegalStateException("killed");
            return inner.step(batch, count, lr);
        }
    }
}
