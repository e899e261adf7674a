package dev.mambaout.graph;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.graph.ops.Add;
import dev.mambaout.graph.ops.Fill;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutodiffTest {

    /** Whole MambaOut-shaped network with odd sizes: every parameter's and the input's gradient against FD. */
    @Test
    void networkGradientsMatchFiniteDifferences() {
        NetFixture net = NetFixture.build(DType.F64, 2, 17, 3, 5, List.of(1, 2), List.of(6, 10), 1.5, 3,
                Activation.SILU, true, 0.1);
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        GradCheck fd = new GradCheck(net.graph(), 11);
        Random rnd = new Random(12);
        for (Tensor p : net.graph().tensors()) {
            if (p.role() != Tensor.Role.COMPUTED && p.dtype().isFloatingPoint()) fd.values.put(p, NetFixture.init(p, rnd));
        }
        fd.labels.put(net.labels(), new int[]{3, 1});
        Results r = new CpuExecutor(Precision.F64).run(t.graph(), fd.bindings());
        assertEquals(net.graph().parameters().size() + 1, t.gradients().size());
        for (Tensor p : t.gradients().keySet()) {
            fd.compare("network", p, r.doubles(t.gradient(p)), net.loss(), null, 4, 1e-6);
        }
    }

    /** y = W(x + x) + x: x is read three times, so its gradient is the sum of three contributions. */
    @Test
    void tensorUsedTwiceGetsSummedGradient() {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", 3, 4);
        Tensor labels = g.labels("labels", 3);
        Tensor w = g.parameter("w", 4, 4);
        Tensor b = g.parameter("b", 4);
        Tensor twice = g.add(x, x);
        Tensor y = g.add(g.linear(twice, w, b), x);
        Tensor loss = g.crossEntropy(y, labels, 0.0);
        TrainingGraph t = Autodiff.training(g.build(), loss);
        long accumulations = t.graph().ops().stream().filter(o -> o instanceof Add).count() - 2;
        assertTrue(accumulations >= 2, "expected Add ops summing x's three contributions, found " + accumulations);

        Random rnd = new Random(5);
        double[] xv = rnd.doubles(12).map(v -> v - 0.5).toArray();
        double[] wv = rnd.doubles(16).map(v -> v - 0.5).toArray();
        double[] bv = rnd.doubles(4).map(v -> v - 0.5).toArray();
        int[] lab = {2, 0, 3};
        Results r = new CpuExecutor(Precision.F64).run(t.graph(),
                new Bindings().put(x, xv).put(w, wv).put(b, bv).putLabels(labels, lab));

        // Independent reference by hand: dL/dy = (softmax(y) - onehot)/N; dL/dx = dy + 2 * dy W.
        double[] expected = new double[12];
        for (int n = 0; n < 3; n++) {
            double[] yv = new double[4];
            for (int o = 0; o < 4; o++) {
                yv[o] = bv[o] + xv[n * 4 + o];
                for (int i = 0; i < 4; i++) yv[o] += 2 * xv[n * 4 + i] * wv[o * 4 + i];
            }
            double z = 0;
            for (double v : yv) z += Math.exp(v);
            double[] dy = new double[4];
            for (int o = 0; o < 4; o++) dy[o] = (Math.exp(yv[o]) / z - (o == lab[n] ? 1 : 0)) / 3;
            for (int i = 0; i < 4; i++) {
                double s = dy[i];
                for (int o = 0; o < 4; o++) s += 2 * dy[o] * wv[o * 4 + i];
                expected[n * 4 + i] = s;
            }
        }
        double[] got = r.doubles(t.gradient(x));
        for (int i = 0; i < 12; i++) assertEquals(expected[i], got[i], 1e-14, "dL/dx[" + i + "]");
    }

    @Test
    void parameterThatDoesNotReachTheLossGetsZeroGradient() {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", 2, 3);
        Tensor labels = g.labels("labels", 2);
        Tensor unused = g.parameter("unused", 5);
        Tensor loss = g.crossEntropy(x, labels, 0.0);
        TrainingGraph t = Autodiff.training(g.build(), loss);
        Tensor gu = t.gradient(unused);
        assertTrue(t.graph().producer(gu) instanceof Fill f && f.value() == 0.0);
        Results r = new CpuExecutor(Precision.F64).run(t.graph(), new Bindings()
                .put(x, new double[]{1, 2, 3, 4, 5, 6}).put(unused, new double[5]).putLabels(labels, new int[]{0, 2}));
        assertEquals(5, r.doubles(gu).length);
        for (double v : r.doubles(gu)) assertEquals(0.0, v);
        assertEquals(gu, t.gradient("unused"));
    }

    @Test
    void lossMustBeAScalarOfTheGraph() {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", 2, 3);
        Tensor y = g.gelu(x);
        Graph graph = g.build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Autodiff.training(graph, y));
        assertTrue(e.getMessage().contains("one element"), e.getMessage());
        Tensor foreign = new GraphBuilder(DType.F64).input("z");
        assertThrows(IllegalArgumentException.class, () -> Autodiff.training(graph, foreign));
    }
}
