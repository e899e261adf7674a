package dev.mambaout.model.train;

import dev.mambaout.kernels.Kernels;
import dev.mambaout.model.Fixtures;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.cli.RandomInit;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.exec.Precision;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The trainer's two steps with drop path 0.5 draw the same masks: GpuTrainStep against CpuTrainStep from the same
 * weights, seed and batch over four steps, the loss and every gradient of each step within 1e-4 relative per tensor
 * in f32 (a mask drawn differently would move whole blocks' gradients). bf16: every gradient within 5e-2 at the
 * first step, from the same weights; after that the two runs' weights drift apart by bf16's rounding of each update
 * (the 2026-12-04 H200 run: a LayerNorm weight's gradient 6% off at step 3), so the later steps compare the loss and
 * the global gradient norm within 5e-2. Both key the masks by the run's seed and the 1-based update number.
 */
@Tag("gpu")
class DropPathTrainStepGpuTest {

    static Stream<Arguments> backends() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values()) for (Precision p : new Precision[] {Precision.F32, Precision.BF16}) out.add(Arguments.of(b, p));
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gpuAndCpuStepsDrawTheSameMasks(Backend backend, Precision precision) {
        Cuda.Availability a = Cuda.availability(backend);
        assumeTrue(a.available(), a.reason());
        assumeTrue(Kernels.buildInfo().built(), "kernels: " + Kernels.buildInfo().reason());
        MambaOutConfig c = Fixtures.MINI.withInChans(1).withDropPathRate(0.5);
        ParameterSpec spec = ParameterSpec.of(c);
        TrainConfig tc = new TrainConfig(c, 32, 16, 1, 2e-3, 0.05, TrainConfig.Schedule.ONECYCLE, 0.1, 0.1, 1.0, 11);
        TrainState init = TrainState.fresh(spec, RandomInit.draw(spec, 7));
        double tol = precision == Precision.BF16 ? 5e-2 : 1e-4;
        Random r = new Random(3);
        try (GpuTrainStep gpu = new GpuTrainStep(tc, init, precision, backend, 0); CpuTrainStep cpu = new CpuTrainStep(tc, init)) {
            StagingBuffer sg = gpu.stagingBuffer(16), sc = cpu.stagingBuffer(16);
            for (int i = 0; i < 16; i++) {
                float[] img = new float[32 * 32];
                int label = r.nextInt(10);
                for (int j = 0; j < img.length; j++) img[j] = (float) r.nextGaussian() + (j % 10 == label ? 1f : 0f);
                sg.put(i, img, label);
                sc.put(i, img, label);
            }
            for (int s = 1; s <= 4; s++) {
                CpuTrainStep.Gradients ref = cpu.gradients(sc, 16);
                TrainStep.StepResult g = gpu.step(sg, 16, 2e-3);
                assertTrue(Math.abs(g.loss() - ref.loss()) <= tol * Math.abs(ref.loss()), "step " + s + " loss " + g.loss()
                        + " vs CPU " + ref.loss());
                Map<String, float[]> grads = gpu.gradients();
                if (precision == Precision.F32 || s == 1) {
                    for (var e : ref.grads().entrySet()) {
                        double err = Fixtures.relError(grads.get(e.getKey()), e.getValue());
                        assertTrue(err <= tol, precision + " " + backend + " step " + s + ": gradient of " + e.getKey() + " off by " + err);
                    }
                } else {
                    double sq = 0;
                    for (var e : ref.grads().entrySet()) for (double v : e.getValue()) sq += v * v;
                    double norm = Math.sqrt(sq);
                    assertTrue(Math.abs(g.gradNorm() - norm) <= tol * norm, precision + " " + backend + " step " + s
                            + ": gradient norm " + g.gradNorm() + " vs CPU " + norm);
                }
                cpu.step(sc, 16, 2e-3);
            }
        }
    }
}
