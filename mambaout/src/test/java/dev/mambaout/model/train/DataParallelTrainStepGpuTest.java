package dev.mambaout.model.train;

import dev.mambaout.kernels.Kernels;
import dev.mambaout.model.Fixtures;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.cli.RandomInit;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.nccl.Nccl;
import dev.mambaout.runtime.exec.Precision;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Data-parallel training through NCCL against the single-GPU step: on one GPU a one-rank group must give
 * bit-identical losses, norms, gradients and weights (the all-reduce of one rank is the identity and changes
 * nothing else); on two GPUs the averaged gradients of two half batches must equal one GPU's gradients of the whole
 * batch within f32 rounding (the model has no batch statistics: the mean of the halves' mean losses is the
 * batch's), and the ranks must hold the same weights after the update.
 */
@Tag("gpu")
class DataParallelTrainStepGpuTest {

    private static final int BATCH = 16;

    private static void requireNccl(Backend backend, int gpus) {
        Cuda.Availability a = Cuda.availability(backend);
        assumeTrue(a.available(), a.reason());
        assumeTrue(Kernels.buildInfo().built(), "kernels: " + Kernels.buildInfo().reason());
        try {
            Nccl.version();
        } catch (CudaUnavailableException e) {
            assumeTrue(false, "no NCCL: " + e.getMessage());
        }
        assumeTrue("0".equals(System.getenv("NCCL_NVLS_ENABLE")),
                "NCCL_NVLS_ENABLE=0 must be set: NVLink multicast stays off on the machines this project uses");
        int count = Cuda.open(backend).deviceCount();
        assumeTrue(count >= gpus, "needs " + gpus + " GPUs, this machine has " + count);
    }

    private static TrainConfig config(MambaOutConfig c) {
        return new TrainConfig(c, 32, BATCH, 1, 2e-3, 0.05, TrainConfig.Schedule.ONECYCLE, 0.1, 0.1, 1.0, 0);
    }

    private static void fill(StagingBuffer s, long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < BATCH; i++) {
            float[] img = new float[32 * 32];
            int label = r.nextInt(10);
            for (int j = 0; j < img.length; j++) img[j] = (float) r.nextGaussian() + (j % 10 == label ? 1f : 0f);
            s.put(i, img, label);
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void oneRankIsBitIdenticalToTheSingleGpuStep(Backend backend) {
        requireNccl(backend, 1);
        MambaOutConfig c = Fixtures.MINI.withInChans(1);
        ParameterSpec spec = ParameterSpec.of(c);
        TrainState init = TrainState.fresh(spec, RandomInit.draw(spec, 7));
        TrainConfig tc = config(c);
        try (GpuTrainStep single = new GpuTrainStep(tc, init, Precision.BF16, backend, 0);
             DataParallelTrainStep dp = new DataParallelTrainStep(tc, init, Precision.BF16, backend, new int[] {0})) {
            StagingBuffer a = single.stagingBuffer(BATCH), b = dp.stagingBuffer(BATCH);
            for (int s = 0; s < 3; s++) {
                fill(a, s);
                fill(b, s);
                TrainStep.StepResult x = single.step(a, BATCH, 2e-3), y = dp.step(b, BATCH, 2e-3);
                assertEquals(x.loss(), y.loss(), "step " + s + " loss");
                assertEquals(x.gradNorm(), y.gradNorm(), "step " + s + " gradient norm");
                assertEquals(x.correct(), y.correct(), "step " + s + " correct");
            }
            Map<String, float[]> gs = single.gradients(), gd = dp.ranks().getFirst().gradients();
            TrainState ws = single.state(), wd = dp.state();
            for (ParameterSpec.Param p : spec.params()) {
                assertArrayEquals(gs.get(p.name()), gd.get(p.name()), "gradient of " + p.name());
                assertArrayEquals(ws.weights().get(p.name()), wd.weights().get(p.name()), "weights of " + p.name());
                assertArrayEquals(ws.expAvgSq().get(p.name()), wd.expAvgSq().get(p.name()), "exp_avg_sq of " + p.name());
            }
            assertEquals(3, dp.completedSteps());
            assertTrue(dp.describe().startsWith("1 GPUs [0], data parallel through NCCL"), dp.describe());
            assertArrayEquals(single.logits(a, BATCH), dp.logits(b, BATCH), "evaluation on rank 0");
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void twoRanksAverageTheHalfBatchesGradientsIntoTheWholeBatchs(Backend backend) {
        requireNccl(backend, 2);
        MambaOutConfig c = Fixtures.MINI.withInChans(1);
        ParameterSpec spec = ParameterSpec.of(c);
        TrainState init = TrainState.fresh(spec, RandomInit.draw(spec, 7));
        TrainConfig tc = config(c);
        try (GpuTrainStep single = new GpuTrainStep(tc, init, Precision.F32, backend, 0);
             DataParallelTrainStep dp = new DataParallelTrainStep(tc, init, Precision.F32, backend, new int[] {0, 1})) {
            StagingBuffer a = single.stagingBuffer(BATCH), b = dp.stagingBuffer(BATCH);
            fill(a, 1);
            fill(b, 1);
            TrainStep.StepResult x = single.step(a, BATCH, 2e-3), y = dp.step(b, BATCH, 2e-3);
            assertTrue(Math.abs(x.loss() - y.loss()) <= 1e-5 * Math.abs(x.loss()), "loss " + y.loss() + " vs " + x.loss());
            assertTrue(Math.abs(x.gradNorm() - y.gradNorm()) <= 1e-4 * x.gradNorm(), "norm " + y.gradNorm() + " vs " + x.gradNorm());
            Map<String, float[]> whole = single.gradients();
            Map<String, float[]> r0 = dp.ranks().get(0).gradients(), r1 = dp.ranks().get(1).gradients();
            for (ParameterSpec.Param p : spec.params()) {
                double[] ref = toDouble(whole.get(p.name()));
                double e = Fixtures.relError(r0.get(p.name()), ref);
                assertTrue(e <= 1e-4, p.name() + ": averaged gradient off by " + e);
                assertArrayEquals(r0.get(p.name()), r1.get(p.name()), "both ranks hold the same averaged gradient of " + p.name());
            }
            Map<String, float[]> w0 = dp.ranks().get(0).state().weights(), w1 = dp.ranks().get(1).state().weights();
            for (ParameterSpec.Param p : spec.params()) {
                assertArrayEquals(w0.get(p.name()), w1.get(p.name()), "both ranks hold the same weights of " + p.name());
            }
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
