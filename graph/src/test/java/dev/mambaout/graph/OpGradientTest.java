package dev.mambaout.graph;

import dev.mambaout.graph.ops.Act;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.graph.ops.Conv2d;
import dev.mambaout.graph.ops.Conv2dBackwardWeight;
import dev.mambaout.graph.ops.CrossEntropy;
import dev.mambaout.graph.ops.GatedDwConv;
import dev.mambaout.graph.ops.GatedDwConvBackward;
import dev.mambaout.graph.ops.LayerNorm;
import dev.mambaout.graph.ops.LayerNormBackward;
import dev.mambaout.graph.ops.LayerScale;
import dev.mambaout.graph.ops.LayerScaleBackward;
import dev.mambaout.graph.ops.Linear;
import dev.mambaout.graph.ops.LinearBackwardWeight;
import dev.mambaout.graph.ops.MeanHW;
import dev.mambaout.graph.ops.Op;
import dev.mambaout.graph.cpu.Results;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every backward op against central finite differences of its forward op, in float64 on small random shapes with
 * odd sizes. Each test wires forward op + backward op(s) by hand, with the upstream gradient dy as an input R, and
 * checks d/dθ sum(R * forward(θ)) for every operand θ.
 */
class OpGradientTest {
    private static final double RTOL = 1e-6;

    /** Forward output y, its upstream-gradient input dy, and the gradient tensor of each operand. */
    private static void verify(GraphBuilder b, Tensor y, Tensor dy, Map<Tensor, Tensor> grads, Map<Tensor, Double> offsets, long seed) {
        b.output(y);
        grads.values().forEach(b::output);
        Graph g = b.build();
        GradCheck c = new GradCheck(g, seed);
        for (Tensor t : g.tensors()) {
            if (t.role() == Tensor.Role.COMPUTED || !t.dtype().isFloatingPoint()) continue;
            c.random(t, t == dy ? 1.0 : 0.7, offsets.getOrDefault(t, 0.0));
        }
        Results r = c.run();
        double[] weights = c.values.get(dy);
        for (Map.Entry<Tensor, Tensor> e : grads.entrySet()) {
            c.compare(y.name(), e.getKey(), r.doubles(e.getValue()), y, weights, 40, RTOL);
        }
    }

    private static <T extends Op> T producer(GraphBuilder b, Tensor out, Class<T> kind) {
        return kind.cast(b.build().producer(out));
    }

    private static Tensor dy(GraphBuilder b, Tensor y) {
        return b.input("dy", y.shape().dims());
    }

    @Test
    void nchwToNhwc() {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 2, 3, 5, 7);
        Tensor y = b.nchwToNhwc(x);
        Tensor dy = dy(b, y);
        verify(b, y, dy, Map.of(x, b.nhwcToNchw(dy)), Map.of(), 1);
    }

    @ParameterizedTest(name = "x[2,{0},{1},3] k{2} s{3} p{4}")
    @CsvSource({"7,9,3,2,1", "8,5,3,2,1", "6,7,5,3,2", "5,5,1,1,0", "4,6,2,2,0"})
    void conv2d(int h, int w, int k, int s, int p) {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 2, h, w, 3);
        Tensor wt = b.parameter("w", 4, 3, k, k);
        Tensor bias = b.parameter("b", 4);
        Tensor y = b.conv2d(x, wt, bias, s, p);
        Conv2d f = producer(b, y, Conv2d.class);
        Tensor dy = dy(b, y);
        Tensor dx = b.conv2dBackwardInput(f, dy);
        Conv2dBackwardWeight bw = b.conv2dBackwardWeight(f, dy);
        Map<Tensor, Tensor> grads = new LinkedHashMap<>();
        grads.put(x, dx);
        grads.put(wt, bw.dWeight());
        grads.put(bias, bw.dBias());
        verify(b, y, dy, grads, Map.of(), 2);
    }

    @ParameterizedTest(name = "x{0}")
    @CsvSource({"'3,5,7'", "'2,3,3,5'", "'1,9'"})
    void layerNorm(String dims) {
        int[] d = java.util.Arrays.stream(dims.split(",")).mapToInt(Integer::parseInt).toArray();
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", d);
        Tensor wt = b.parameter("w", d[d.length - 1]);
        Tensor bias = b.parameter("b", d[d.length - 1]);
        Tensor y = b.layerNorm(x, wt, bias, 1e-6);
        Tensor dy = dy(b, y);
        LayerNormBackward r = b.layerNormBackward(producer(b, y, LayerNorm.class), dy);
        Map<Tensor, Tensor> grads = new LinkedHashMap<>();
        grads.put(x, r.dx());
        grads.put(wt, r.dWeight());
        grads.put(bias, r.dBias());
        verify(b, y, dy, grads, Map.of(wt, 1.0), 3);
    }

    @Test
    void linear() {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 2, 3, 5);
        Tensor wt = b.parameter("w", 7, 5);
        Tensor bias = b.parameter("b", 7);
        Tensor y = b.linear(x, wt, bias);
        Linear f = producer(b, y, Linear.class);
        Tensor dy = dy(b, y);
        LinearBackwardWeight bw = b.linearBackwardWeight(f, dy);
        Map<Tensor, Tensor> grads = new LinkedHashMap<>();
        grads.put(x, b.linearBackwardInput(f, dy));
        grads.put(wt, bw.dWeight());
        grads.put(bias, bw.dBias());
        verify(b, y, dy, grads, Map.of(), 4);
    }

    @ParameterizedTest(name = "{0} hidden {1} conv {2} k{3} H{4} W{5}")
    @CsvSource({"GELU,6,4,3,5,7", "SILU,6,4,3,5,7", "GELU,5,5,5,6,3", "SILU,7,1,3,3,4", "GELU,4,3,7,5,5"})
    void gatedDwConv(Activation act, int hidden, int cc, int k, int h, int w) {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 2, h, w, 2 * hidden);
        Tensor wt = b.parameter("w", cc, 1, k, k);
        Tensor bias = b.parameter("b", cc);
        Tensor y = b.gatedDwConv(x, wt, bias, act);
        Tensor dy = dy(b, y);
        GatedDwConvBackward r = b.gatedDwConvBackward(producer(b, y, GatedDwConv.class), dy);
        Map<Tensor, Tensor> grads = new LinkedHashMap<>();
        grads.put(x, r.dx());
        grads.put(wt, r.dWeight());
        grads.put(bias, r.dBias());
        verify(b, y, dy, grads, Map.of(), 5);
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activation(Activation fn) {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 3, 11);
        Tensor y = b.activation(x, fn);
        Tensor dy = dy(b, y);
        verify(b, y, dy, Map.of(x, b.actBackward(producer(b, y, Act.class), dy)), Map.of(), 6);
    }

    @Test
    void layerScale() {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 2, 3, 5, 7);
        Tensor gamma = b.parameter("gamma", 7);
        Tensor y = b.layerScale(x, gamma);
        Tensor dy = dy(b, y);
        LayerScaleBackward r = b.layerScaleBackward(producer(b, y, LayerScale.class), dy);
        verify(b, y, dy, Map.of(x, r.dx(), gamma, r.dGamma()), Map.of(gamma, 0.5), 7);
    }

    @Test
    void meanHW() {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 2, 3, 5, 7);
        Tensor y = b.meanHW(x);
        Tensor dy = dy(b, y);
        verify(b, y, dy, Map.of(x, b.meanHWBackward(producer(b, y, MeanHW.class), dy)), Map.of(), 8);
    }

    @ParameterizedTest(name = "smoothing {0}")
    @CsvSource({"0.0", "0.1", "1.0"})
    void crossEntropy(double smoothing) {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor logits = b.input("logits", 3, 5);
        Tensor labels = b.labels("labels", 3);
        Tensor y = b.crossEntropy(logits, labels, smoothing);
        Tensor dy = b.input("dy");
        Tensor dl = b.crossEntropyBackward(producer(b, y, CrossEntropy.class), dy);
        b.output(y);
        b.output(dl);
        GradCheck c = new GradCheck(b.build(), 9);
        c.random(logits, 2.0, 0.0);
        c.values.put(dy, new double[]{1.7});
        c.labels.put(labels, new int[]{4, 0, 2});
        c.compare("CrossEntropy", logits, c.run().doubles(dl), y, new double[]{1.7}, 40, RTOL);
        assertEquals(1, y.numel());
    }
}
