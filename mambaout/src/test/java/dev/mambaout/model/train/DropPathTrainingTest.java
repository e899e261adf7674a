package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mambaout.graph.DType;
import dev.mambaout.graph.ops.DropPath;
import dev.mambaout.graph.ops.Op;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.MambaOutGraph;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.cli.RandomInit;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stochastic depth in the model: timm's schedule, which graphs get it, the checkpoint's record, and CPU training. */
class DropPathTrainingTest {

    private static final MambaOutConfig FEMTO = MambaOutConfig.variant("femto");

    @Test
    void femtoGetsTimmsLinearSchedule() {
        double[] r = FEMTO.withDropPathRate(0.1).dropPathRates();
        assertEquals(18, r.length, "femto's depths 3, 3, 9, 3");
        assertEquals(0.0, r[0], "the first block has none");
        assertEquals((double) 0.1f, r[17], "the last has the rate, as a float32 (torch.linspace's dtype)");
        for (int i = 0; i < 18; i++) {
            assertEquals((float) (0.1 * i / 17), r[i], 1e-8, "block " + i);
            assertEquals(r[i], (float) r[i], "block " + i + " is a float32 value");
            if (i > 0) assertTrue(r[i] > r[i - 1], "increasing at " + i);
        }
        // torch.linspace(0, 0.1, 18)[9] in float32: the back half is end - step * (steps - 1 - i).
        float step = 0.1f / 17;
        assertEquals(0.1f - step * 8, (float) r[9]);
        assertEquals(step * 8, (float) r[8]);
        assertArrayEquals(new double[18], FEMTO.dropPathRates(), "the variants have none");
        assertArrayEquals(new double[1], new MambaOutConfig("one", 3, 10, List.of(1), List.of(8), 2.0, 1.0, 3, true,
                MambaOutConfig.Downsample.CONV, false, MambaOutConfig.Activation.GELU, MambaOutConfig.Head.MLP, 32, 1.0, 0.3)
                .dropPathRates(), "torch.linspace(0, x, 1) is [0]");
        assertThrows(IllegalArgumentException.class, () -> FEMTO.withDropPathRate(1.0));
        assertThrows(IllegalArgumentException.class, () -> FEMTO.withDropPathRate(-0.1));
    }

    @Test
    void onlyTrainingGraphsWithARateGetDropPath() {
        MambaOutConfig dp = FEMTO.withDropPathRate(0.1);
        MambaOutGraph.Options o = MambaOutGraph.Options.DEFAULT.withDropPathSeed(42);
        MambaOutGraph train = MambaOutGraph.build(dp, 2, 32, 32, MambaOutGraph.Mode.TRAINING, o);
        List<DropPath> ops = new ArrayList<>();
        for (Op op : train.graph().ops()) if (op instanceof DropPath d) ops.add(d);
        assertEquals(17, ops.size(), "every block but the first");
        double[] rates = dp.dropPathRates();
        for (int i = 0; i < ops.size(); i++) {
            DropPath d = ops.get(i);
            assertEquals(i + 1, d.block());
            assertEquals(rates[i + 1], d.rate());
            assertEquals(42, d.seed());
            assertEquals(train.step(), d.step());
        }
        assertEquals(DType.I64, train.step().dtype());
        assertEquals(MambaOutGraph.STEP, train.step().name());

        MambaOutGraph eval = MambaOutGraph.build(dp, 2, 32, 32, MambaOutGraph.Mode.INFERENCE, o);
        assertFalse(eval.graph().ops().stream().anyMatch(op -> op instanceof DropPath), "eval mode is the identity");
        assertNull(eval.step());

        MambaOutGraph zero = MambaOutGraph.build(FEMTO, 2, 32, 32, MambaOutGraph.Mode.TRAINING, o);
        assertEquals(MambaOutGraph.training(FEMTO, 2, 32, 32).graph().ops(), zero.graph().ops(), "rate 0: today's graph");
        assertNull(zero.step());
        assertEquals(ParameterSpec.of(FEMTO).params(), train.spec().params(), "drop path has no parameters");
    }

    @Test
    void theCheckpointRecordsTheRateOnlyWhenSet() {
        ObjectMapper json = new ObjectMapper();
        TrainConfig plain = Synthetic.config(8, 1, 1e-2);
        assertFalse(plain.toJson(json).get("model").has("drop_path_rate"), "checkpoints of earlier runs stay resumable");
        TrainConfig dp = config(0.3, 7);
        assertEquals(0.3, dp.toJson(json).get("model").get("drop_path_rate").asDouble());
        assertNotEquals(plain.toJson(json), dp.toJson(json), "a resume with another rate is refused");
    }

    @Test
    void cpuTrainingIsReproducibleFromTheSeed() {
        List<Double> a = losses(config(0.5, 7)), b = losses(config(0.5, 7));
        assertEquals(a, b, "same seed, same masks, same losses bit for bit");
        assertNotEquals(a, losses(config(0.5, 8)), "another seed draws other masks (same initial weights)");
        assertNotEquals(a, losses(config(0.0, 7)), "and drop path changes the steps at all");
    }

    /** The tiny model at {@code rate}: its two blocks get 0 and the rate. */
    private static TrainConfig config(double rate, long seed) {
        TrainConfig c = Synthetic.config(8, 1, 1e-2);
        return new TrainConfig(c.model().withDropPathRate(rate), c.imageSize(), c.batch(), c.epochs(), c.lr(),
                c.weightDecay(), c.schedule(), c.warmupPct(), c.labelSmoothing(), c.clipGrad(), seed);
    }

    /** Six steps on one fixed batch from the same initial weights (drawn with seed 7 whatever the run's seed). */
    private static List<Double> losses(TrainConfig c) {
        ParameterSpec spec = ParameterSpec.of(c.model());
        List<Double> out = new ArrayList<>();
        try (CpuTrainStep step = new CpuTrainStep(c, TrainState.fresh(spec, RandomInit.draw(spec, 7)))) {
            StagingBuffer batch = step.stagingBuffer(c.batch());
            Random r = new Random(5);
            float[] image = new float[batch.sampleFloats()];
            for (int i = 0; i < c.batch(); i++) {
                for (int j = 0; j < image.length; j++) image[j] = (float) r.nextGaussian();
                batch.put(i, image, r.nextInt(Synthetic.CLASSES));
            }
            for (int s = 0; s < 6; s++) out.add(step.step(batch, c.batch(), 1e-2).loss());
        }
        assertTrue(out.stream().allMatch(Double::isFinite), out.toString());
        assertEquals(6, Arrays.stream(out.toArray()).distinct().count(), "every step changes the loss: " + out);
        return out;
    }
}
