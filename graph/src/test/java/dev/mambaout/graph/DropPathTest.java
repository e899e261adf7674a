package dev.mambaout.graph;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.graph.ops.DropPath;
import dev.mambaout.graph.ops.DropPathBackward;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The drop-path generator against SplitMix64's published outputs, its keep rate, and the op's shapes, forward and gradient. */
class DropPathTest {

    @Test
    void generatorIsSplitMix64() {
        // The first outputs of splitmix64.c seeded with 1234567 (the values Rosetta Code's SplitMix64 task lists).
        long[] want = {Long.parseUnsignedLong("6457827717110365317"), Long.parseUnsignedLong("3203168211198807973"),
                Long.parseUnsignedLong("9817491932198370423"), Long.parseUnsignedLong("4593380528125082431"),
                Long.parseUnsignedLong("16408922859458223821")};
        for (int i = 0; i < want.length; i++) assertEquals(want[i], DropPathRng.at(1234567, i), "output " + i);
        assertEquals(0xE220A8397B1DCDAFL, DropPathRng.at(0, 0), "the first output for seed 0");
        // The chained key: each level is one SplitMix64 output seeding the next stream.
        long s = DropPathRng.at(DropPathRng.at(42, 7), 3);
        assertEquals(DropPathRng.at(s, 5), DropPathRng.bits(42, 7, 3, 5));
    }

    @Test
    void thresholdIsTheKeepProbabilityIn53Bits() {
        assertEquals(1L << 53, DropPathRng.keepThreshold(0.0));
        assertEquals(1L << 52, DropPathRng.keepThreshold(0.5));
        assertEquals((long) Math.ceil(0.9 * 0x1p53), DropPathRng.keepThreshold(0.1));
        assertEquals(1.0 / 0.9, DropPathRng.keepScale(0.1));
        assertThrows(IllegalArgumentException.class, () -> DropPathRng.keepThreshold(1.0));
        assertThrows(IllegalArgumentException.class, () -> DropPathRng.keepThreshold(-0.1));
        assertThrows(IllegalArgumentException.class, () -> DropPathRng.keepThreshold(Double.NaN));
    }

    @Test
    void keepRateIsOneMinusRateWithinFiveSigma() {
        int n = 200_000;
        for (double rate : new double[] {0.1, 0.5, 0.9}) {
            int kept = 0;
            // Samples of one block over steps, and blocks of one step: both directions of the key must be uniform.
            for (int i = 0; i < n / 2; i++) {
                if (DropPathRng.sampleScales(1234, i, 5, 1, rate)[0] != 0) kept++;
                if (DropPathRng.sampleScales(1234, 99, i, 1, rate)[0] != 0) kept++;
            }
            double q = 1 - rate, sigma = Math.sqrt(n * q * (1 - q));
            assertTrue(Math.abs(kept - n * q) < 5 * sigma, "rate " + rate + ": kept " + kept + " of " + n);
        }
        double[] s = DropPathRng.sampleScales(7, 1, 0, 10_000, 0.3);
        for (double v : s) assertTrue(v == 0 || v == 1 / 0.7, "scale " + v);
    }

    @Test
    void shapesAndRefusals() {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor x = b.input("x", 3, 2, 2, 5), step = b.counter("step");
        assertEquals(DType.I64, step.dtype());
        Tensor y = b.dropPath(x, step, 0.25, 9, 4);
        assertEquals(x.shape(), y.shape());
        DropPath op = (DropPath) b.build().ops().getLast();
        assertEquals(0.25, op.rate());
        assertEquals(9, op.seed());
        assertEquals(4, op.block());
        assertTrue(assertThrows(ShapeException.class, () -> b.dropPath(x, x, 0.1, 0, 0)).getMessage()
                .contains("step must be an I64 [1] counter"));
        assertTrue(assertThrows(ShapeException.class, () -> b.dropPath(x, step, 0.0, 0, 0)).getMessage()
                .contains("rate 0.0 must lie in (0, 1)"));
        assertThrows(ShapeException.class, () -> b.dropPath(x, step, 1.0, 0, 0));
        assertThrows(ShapeException.class, () -> b.dropPath(x, step, 0.5, 0, -1));
    }

    @Test
    void forwardScalesEachSampleByItsDraw() {
        GraphBuilder b = new GraphBuilder(DType.F64);
        int n = 64, per = 2 * 3 * 5;
        Tensor x = b.input("x", n, 2, 3, 5), step = b.counter("step");
        b.output(b.dropPath(x, step, 0.5, -77, 3));
        Graph g = b.build();
        double[] xv = new Random(1).doubles(n * per, -1, 1).toArray();
        double[] got = run(g, xv, 11).doubles(g.outputs().getFirst());
        int dropped = 0;
        for (int s = 0; s < n; s++) {
            boolean keep = (DropPathRng.bits(-77, 11, 3, s) >>> 11) < (1L << 52);
            if (!keep) dropped++;
            for (int i = s * per; i < (s + 1) * per; i++) assertEquals(xv[i] * (keep ? 2 : 0), got[i], "element " + i);
        }
        assertTrue(dropped > 0 && dropped < n, "a rate of 0.5 over 64 samples drops some, not all: " + dropped);
        assertArrayEquals(got, run(g, xv, 11).doubles(g.outputs().getFirst()), "the same step draws the same mask");
        assertFalse(java.util.Arrays.equals(got, run(g, xv, 12).doubles(g.outputs().getFirst())), "the next step draws anew");
        assertThrows(IllegalArgumentException.class, () -> new CpuExecutor(Precision.F64).run(g, new Bindings().put(x, xv)));
    }

    /** A block's branch with drop path and LayerScale into a residual and a loss: every gradient vs central differences. */
    @Test
    void gradientsMatchFiniteDifferences() {
        GraphBuilder b = new GraphBuilder(DType.F64);
        int n = 6, h = 3, w = 2, c = 5, k = 4;
        Tensor x = b.input("x", n, h, w, c), step = b.counter("step");
        Tensor gamma = b.parameter("gamma", c), fw = b.parameter("fc.weight", c, c), fb = b.parameter("fc.bias", c);
        Tensor hw = b.parameter("head.weight", k, c), hb = b.parameter("head.bias", k);
        Tensor labels = b.labels("labels", n);
        Tensor branch = b.dropPath(b.layerScale(b.linear(x, fw, fb), gamma), step, 0.5, 5, 2);
        Tensor logits = b.linear(b.meanHW(b.add(branch, x)), hw, hb);
        Tensor loss = b.crossEntropy(logits, labels, 0.1);
        b.output(loss);
        TrainingGraph tg = Autodiff.training(b.build(), loss);
        assertTrue(tg.graph().ops().stream().anyMatch(o -> o instanceof DropPathBackward), "the backward scales dy");

        Random r = new Random(3);
        Bindings bind = new Bindings().putCounter(step, 3).putLabels(labels, r.ints(n, 0, k).toArray());
        java.util.Map<Tensor, double[]> vals = new java.util.LinkedHashMap<>();
        for (Tensor t : new Tensor[] {x, gamma, fw, fb, hw, hb}) {
            double[] v = r.doubles(t.numel(), -1, 1).toArray();
            vals.put(t, v);
            bind.put(t, v);
        }
        double[] scales = DropPathRng.sampleScales(5, 3, 2, n, 0.5);
        assertTrue(java.util.Arrays.stream(scales).anyMatch(s -> s == 0) && java.util.Arrays.stream(scales).anyMatch(s -> s != 0),
                "this key both keeps and drops samples: " + java.util.Arrays.toString(scales));
        CpuExecutor cpu = new CpuExecutor(Precision.F64);
        Results res = cpu.run(tg.graph(), bind);
        double hstep = 1e-6;
        for (var e : vals.entrySet()) {
            double[] v = e.getValue(), grad = res.doubles(tg.gradient(e.getKey()));
            for (int i = 0; i < v.length; i += Math.max(1, v.length / 25)) {
                double keep = v[i];
                v[i] = keep + hstep;
                double up = cpu.run(tg.graph(), bind).scalar(loss);
                v[i] = keep - hstep;
                double down = cpu.run(tg.graph(), bind).scalar(loss);
                v[i] = keep;
                double fd = (up - down) / (2 * hstep);
                assertEquals(fd, grad[i], 1e-6 * Math.max(1, Math.abs(fd)), e.getKey().name() + "[" + i + "]");
            }
        }
        assertNotEquals(0.0, java.util.Arrays.stream(res.doubles(tg.gradient(gamma))).map(Math::abs).sum());
    }

    private static Results run(Graph g, double[] x, long step) {
        Bindings b = new Bindings().put(g.tensor("x"), x).putCounter(g.tensor("step"), step);
        return new CpuExecutor(Precision.F64).run(g, b);
    }
}
