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
}
