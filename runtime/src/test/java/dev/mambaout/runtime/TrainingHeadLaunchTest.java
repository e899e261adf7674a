package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.runtime.launch.CrossEntropyLaunch;
import dev.mambaout.runtime.launch.MeanHwBackwardLaunch;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CrossEntropyLaunch and MeanHwBackwardLaunch refuse wrong views before any module is loaded (the fake has none). */
class TrainingHeadLaunchTest {

    private static final long A = 0x10000, B = 0x20000, C = 0x30000, D = 0x40000, E = 0x50000, F = 0x60000;

    @Test
    void crossEntropyNamesTheWrongTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor logits = new Tensor(A, 0, Shape.of(4, 10), DType.BF16), d = new Tensor(B, 0, Shape.of(4, 10), DType.BF16);
            Tensor y = new Tensor(C, 0, Shape.of(4), DType.I32), rows = new Tensor(D, 0, Shape.of(4), DType.F32);
            Tensor mean = new Tensor(E, 0, Shape.of(), DType.F32), bad = new Tensor(F, 0, Shape.of(1), DType.I32);

            refused("cross_entropy: logits must be F32 or BF16, was I32", () -> CrossEntropyLaunch.prepare(m, rows, mean,
                    bad, d, new Tensor(A, 0, Shape.of(4, 10), DType.I32), y, 0));
            refused("cross_entropy: logits [N, classes] must have rank 2, was [40]", () -> CrossEntropyLaunch.prepare(m,
                    rows, mean, bad, d, logits.reshape(Shape.of(40)), y, 0));
            refused("cross_entropy: labels must be I32 [4] for logits [4, 10], was [5]", () -> CrossEntropyLaunch.prepare(m,
                    rows, mean, bad, d, logits, new Tensor(C, 0, Shape.of(5), DType.I32), 0));
            refused("cross_entropy: labels must be I32, was F32", () -> CrossEntropyLaunch.prepare(m, rows, mean, bad, d,
                    logits, new Tensor(C, 0, Shape.of(4), DType.F32), 0));
            refused("cross_entropy: dLogits must be BF16 [4, 10] (the logits' dtype and shape), was F32 [4, 10]",
                    () -> CrossEntropyLaunch.prepare(m, rows, mean, bad, new Tensor(B, 0, Shape.of(4, 10), DType.F32),
                            logits, y, 0));
            refused("cross_entropy: dLogits overlaps logits", () -> CrossEntropyLaunch.prepare(m, rows, mean, bad,
                    new Tensor(A, 16, Shape.of(4, 10), DType.BF16), logits, y, 0));
            refused("cross_entropy: lossRows must be F32 [4], was F32 [3]", () -> CrossEntropyLaunch.prepare(m,
                    new Tensor(D, 0, Shape.of(3), DType.F32), mean, bad, d, logits, y, 0));
            refused("cross_entropy: lossMean must be one F32, was BF16 []", () -> CrossEntropyLaunch.prepare(m, rows,
                    new Tensor(E, 0, Shape.of(), DType.BF16), bad, d, logits, y, 0));
            refused("cross_entropy: badLabels must be one I32, was F32 [1]", () -> CrossEntropyLaunch.prepare(m, rows,
                    mean, new Tensor(F, 0, Shape.of(1), DType.F32), d, logits, y, 0));
            refused("cross_entropy: label smoothing must lie in [0, 1], was 1.5", () -> CrossEntropyLaunch.prepare(m,
                    rows, mean, bad, d, logits, y, 1.5));
            refused("cross_entropy: label smoothing must lie in [0, 1], was NaN", () -> CrossEntropyLaunch.prepare(m,
                    rows, mean, bad, d, logits, y, Double.NaN));
            refused("cross_entropy: dLoss / N must be finite", () -> CrossEntropyLaunch.prepare(m, rows, mean, bad, d,
                    logits, y, 0.1, Double.POSITIVE_INFINITY));
        }
    }

    @Test
    void meanHwBackwardNamesTheWrongTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor dx = new Tensor(A, 0, Shape.nhwc(2, 7, 7, 288), DType.BF16), dy = new Tensor(B, 0, Shape.of(2, 288), DType.F32);
            refused("mean_hw_backward: dx [N,H,W,C] must have rank 4, was [2, 49, 288]",
                    () -> MeanHwBackwardLaunch.prepare(m, dx.reshape(Shape.of(2, 49, 288)), dy));
            refused("mean_hw_backward: dy must be [2, 288] for dx [2, 7, 7, 288], was [2, 289]",
                    () -> MeanHwBackwardLaunch.prepare(m, dx, new Tensor(B, 0, Shape.of(2, 289), DType.F32)));
            refused("mean_hw_backward: dy must be F32 or BF16, was I32",
                    () -> MeanHwBackwardLaunch.prepare(m, dx, new Tensor(B, 0, Shape.of(2, 288), DType.I32)));
            refused("mean_hw_backward: BF16 dy into F32 dx is not a variant", () -> MeanHwBackwardLaunch.prepare(m,
                    new Tensor(A, 0, Shape.nhwc(2, 7, 7, 288), DType.F32), new Tensor(B, 0, Shape.of(2, 288), DType.BF16)));
            refused("mean_hw_backward: dx overlaps dy",
                    () -> MeanHwBackwardLaunch.prepare(m, dx, new Tensor(A, 64, Shape.of(2, 288), DType.F32)));
        }
    }

    private static void refused(String expected, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
