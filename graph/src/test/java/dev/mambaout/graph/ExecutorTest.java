package dev.mambaout.graph;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.graph.ops.Activation;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExecutorTest {

    private static Bindings randomBindings(Graph g, Tensor labels, int[] labelValues, long seed) {
        Random rnd = new Random(seed);
        Bindings b = new Bindings();
        for (Tensor t : g.tensors()) {
            if (t.role() != Tensor.Role.COMPUTED && t.dtype().isFloatingPoint()) b.put(t, NetFixture.init(t, rnd));
        }
        return b.putLabels(labels, labelValues);
    }

    private static double relErr(double[] ref, double[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (ref[i] - got[i]) * (ref[i] - got[i]);
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void f32AgreesWithF64OnForwardAndBackward() {
        NetFixture net = NetFixture.build(DType.F32, 2, 29, 3, 10, List.of(1, 2), List.of(8, 12), 8.0 / 3.0, 7,
                Activation.GELU, false, 0.1);
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        Bindings b = randomBindings(net.graph(), net.labels(), new int[]{7, 2}, 3);
        Results r64 = new CpuExecutor(Precision.F64).run(t.graph(), b);
        Results r32 = new CpuExecutor(Precision.F32).run(t.graph(), b);
        assertTrue(relErr(r64.doubles(net.logits()), r32.doubles(net.logits())) < 1e-5);
        assertEquals(r64.scalar(net.loss()), r32.scalar(net.loss()), 1e-5 * Math.abs(r64.scalar(net.loss())));
        for (Tensor p : t.gradients().keySet()) {
            double e = relErr(r64.doubles(t.gradient(p)), r32.doubles(t.gradient(p)));
            assertTrue(e < 1e-4, p + ": f32 gradient relative error " + e);
            double[] v = r32.doubles(t.gradient(p));
            for (double x : v) assertEquals((double) (float) x, x, 0.0, "F32 results are float32 values");
        }
        // Different precisions must actually differ somewhere, or the F32 mode would not be rounding at all.
        assertTrue(relErr(r64.doubles(net.logits()), r32.doubles(net.logits())) > 0);
    }

    @Test
    void resultsAreIndependentOfThreadScheduling() {
        NetFixture net = NetFixture.build(DType.F64, 3, 21, 3, 6, List.of(1, 1), List.of(8, 16), 2.0, 5,
                Activation.SILU, true, 0.0);
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        Bindings b = randomBindings(net.graph(), net.labels(), new int[]{1, 5, 0}, 9);
        CpuExecutor cpu = new CpuExecutor(Precision.F64);
        Results first = cpu.run(t.graph(), b), second = cpu.run(t.graph(), b);
        for (Tensor p : t.gradients().keySet()) {
            assertArrayEquals(first.doubles(t.gradient(p)), second.doubles(t.gradient(p)), p.toString());
        }
    }

    @Test
    void badBindingsAreReportedClearly() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", 2, 3);
        Tensor w = g.parameter("w", 4, 3);
        Tensor bias = g.parameter("b", 4);
        Tensor y = g.output(g.linear(x, w, bias));
        Graph graph = g.build();
        CpuExecutor cpu = new CpuExecutor(Precision.F32);
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> cpu.run(graph, new Bindings().put(x, new float[6])));
        assertTrue(missing.getMessage().contains("w[4, 3]") && missing.getMessage().contains("b[4]"), missing.getMessage());
        IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
                () -> cpu.run(graph, new Bindings().put(x, new float[5]).put(w, new float[12]).put(bias, new float[4])));
        assertTrue(length.getMessage().contains("5 elements") && length.getMessage().contains("6"), length.getMessage());
        Results r = cpu.run(graph, new Bindings().put("x", new float[]{1, 2, 3, 4, 5, 6})
                .put("w", new float[12]).put("b", new float[]{1, 2, 3, 4}));
        assertArrayEquals(new float[]{1, 2, 3, 4, 1, 2, 3, 4}, r.floats(y));
        assertThrows(IllegalArgumentException.class, () -> r.doubles(x), "x is not an output");
    }

    /**
     * mambaout_femto's shape at 224x224, batch 2, forward + backward in F32 gives a finite loss. The time is printed
     * for the record (the suite runs this size on CI's 2 cores), not asserted: speed is for benchmarks.
     */
    @Test
    void femtoTrainingStepRuns() {
        NetFixture net = NetFixture.femto(DType.F32, 2, 224);
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        Bindings b = randomBindings(net.graph(), net.labels(), new int[]{17, 923}, 1);
        CpuExecutor cpu = new CpuExecutor(Precision.F32);
        long t0 = System.nanoTime();
        Results r = cpu.run(t.graph(), b);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("femto 224 b2 f32 forward+backward: %.2f s on %d cores%n", seconds, Runtime.getRuntime().availableProcessors());
        double loss = r.scalar(net.loss());
        assertTrue(Double.isFinite(loss) && loss > 0, "loss " + loss);
    }
}
