package dev.mambaout.runtime;

import dev.mambaout.graph.Autodiff;
import dev.mambaout.graph.DType;
import dev.mambaout.graph.GraphBuilder;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.TrainingGraph;
import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.graph.ops.Conv2dBackwardInput;
import dev.mambaout.kernels.Im2colKernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The references the col2im and act_backward GPU tests use, against the graph (no GPU): CpuReference.col2imNhwc
 * applied to dcol = dy x packWeight(W) is graph's Conv2dBackwardInput(dy, W) as Autodiff emits and the float64
 * CpuExecutor runs it (dy read off the training graph of x -> conv -> GELU -> meanHW -> CE, so it varies over pixels);
 * CpuReference.actGrad matches act' at known points.
 */
class Col2imReferenceTest {

    @ParameterizedTest(name = "shape {0}")
    @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
    void col2imOfDyTimesThePackedWeightIsConv2dBackwardInput(int shape) {
        // N, H, W, Cin, Cout, k, s, p
        int[][] shapes = {{2, 9, 7, 3, 5, 3, 2, 1}, {1, 8, 8, 8, 6, 3, 2, 1}, {2, 7, 9, 5, 4, 5, 1, 2},
                {1, 11, 9, 7, 3, 5, 3, 2}, {2, 8, 7, 6, 4, 2, 2, 0}, {1, 8, 8, 4, 4, 1, 2, 0}, {1, 6, 5, 3, 7, 3, 1, 1}};
        int[] d = shapes[shape];
        int n = d[0], h = d[1], w = d[2], cin = d[3], cout = d[4], k = d[5], s = d[6], p = d[7];
        int ho = Im2colKernels.outSize(h, k, s, p), wo = Im2colKernels.outSize(w, k, s, p);
        Random r = new Random(1234 + shape);
        float[] x = GpuSupport.random(r, n * h * w * cin, 0f, 1f);
        float[] weight = GpuSupport.random(r, cout * cin * k * k, 0f, 0.5f);
        float[] bias = GpuSupport.random(r, cout, 0f, 0.1f);
        int[] labels = new int[n];
        for (int b = 0; b < n; b++) labels[b] = r.nextInt(cout);

        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor tx = g.input("x", n, h, w, cin);
        Tensor tw = g.parameter("w", cout, cin, k, k), tb = g.parameter("b", cout);
        Tensor ty = g.labels("y", n);
        Tensor loss = g.output(g.crossEntropy(g.meanHW(g.activation(g.conv2d(tx, tw, tb, s, p), Activation.GELU)), ty, 0));
        TrainingGraph tg = Autodiff.training(g.build(), loss);
        Conv2dBackwardInput op = tg.graph().ops().stream().filter(o -> o instanceof Conv2dBackwardInput)
                .map(o -> (Conv2dBackwardInput) o).findFirst().orElseThrow();
        GraphBuilder probe = GraphBuilder.extending(tg.graph());
        probe.output(op.dy());
        probe.output(op.dx());
        var res = new CpuExecutor(Precision.F64).run(probe.build(),
                new Bindings().put(tx, x).put(tw, weight).put(tb, bias).putLabels(ty, labels));
        double[] dy = res.doubles(op.dy()), want = res.doubles(op.dx());
        assertEquals((long) n * ho * wo * cout, dy.length);

        // dcol = dy [rows, Cout] x packed [Cout, colStride] in float64, then rounded to float (what the GPU gets).
        int colStride = Im2colKernels.colStride(k, cin) + 8, rows = n * ho * wo;
        float[] packed = Im2colKernels.packWeight(weight, cout, cin, k);
        int packedStride = Im2colKernels.colStride(k, cin);
        float[] dcol = new float[rows * colStride];
        for (int row = 0; row < rows; row++)
            for (int j = 0; j < colStride; j++) {
                double acc = 0;
                for (int o = 0; o < cout && j < k * k * cin; o++) acc += dy[row * cout + o] * packed[o * packedStride + j];
                // the padding columns [k*k*C, colStride) are NaN: the reference must never read them.
                dcol[row * colStride + j] = j < k * k * cin ? (float) acc : Float.NaN;
            }

        CpuReference.Col2im got = CpuReference.col2imNhwc(dcol, n, h, w, cin, k, s, p, colStride);
        double e = GpuSupport.relError(toFloats(got.dx()), want);
        assertTrue(e < 1e-6, "shape " + shape + ": relative error " + e);
        int[] taps = got.taps();
        for (int i = 0; i < want.length; i++) {
            if (taps[i] == 0) assertEquals(0.0, want[i], 0.0, "dx[" + i + "] is read by no column, so its gradient is 0");
            assertTrue(taps[i] <= ((k + s - 1) / s) * ((k + s - 1) / s), "dx[" + i + "] has " + taps[i] + " taps");
        }
    }

    @Test
    void actGradIsTheExactDerivative() {
        float[] x = {0f, 1f, -1f, 3f, -6f, 20f, -20f};
        double[] gelu = CpuReference.actGrad(x, Activation.GELU), silu = CpuReference.actGrad(x, Activation.SILU);
        double phi1 = Math.exp(-0.5) / Math.sqrt(2 * Math.PI);
        assertEquals(0.5, gelu[0], 1e-15);
        assertEquals(0.5 * (1 + 0.6826894921370859) + phi1, gelu[1], 1e-12);   // erf(1/sqrt 2)
        assertEquals(0.5 * (1 - 0.6826894921370859) - phi1, gelu[2], 1e-12);
        assertEquals(1.0, gelu[5], 1e-12);
        assertEquals(0.0, gelu[6], 1e-12);
        for (int i = 0; i < x.length; i++) {
            double sg = 1 / (1 + Math.exp(-x[i]));
            assertEquals(sg * (1 + x[i] * (1 - sg)), silu[i], 1e-12, "silu'(" + x[i] + ")");
        }
        double[] dx = CpuReference.actBackward(x, new float[] {2f, 2f, 2f, 2f, 2f, 2f, 2f}, Activation.SILU);
        assertEquals(2 * silu[3], dx[3], 1e-15);
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
