package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.MeanHwLayerNormLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mean_hw_layernorm_{f32,bf16} against the float64 CpuExecutor's MeanHW then LayerNorm on the stored inputs; out
 * poisoned. Shapes: femto's heads (7x7, 288 and 576), C = 1, odd C and HW, C past one block of 1024 threads, and a C
 * past the shared-memory cache (the recomputing path). Half the cases also ask for the training outputs (pooled rows,
 * mean, rstd: what the LayerNorm backward reads), checked against a double computation from the stored x.
 */
@Tag("gpu")
class MeanHwLayerNormGpuTest {

    static Stream<Arguments> cases() {
        int[][] shapes = {{3, 7, 7, 288}, {2, 7, 7, 576}, {5, 1, 1, 1}, {4, 3, 5, 37}, {2, 2, 3, 1030}, {1, 2, 2, 13_001},
                {9, 1, 7, 64}};
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values())
            // x -> out: f32, bf16, and f32 -> bf16 (a bf16 program's f32 residual stream into the head MLP)
            for (DType[] t : new DType[][] {{DType.F32, DType.F32}, {DType.BF16, DType.BF16}, {DType.F32, DType.BF16}})
                for (int[] s : shapes) out.add(Arguments.of(b, t[0], t[1], s[0], s[1], s[2], s[3]));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}->{2} N={3} H={4} W={5} C={6}")
    @MethodSource("cases")
    void matchesTheCpuReference(Backend backend, DType dtype, DType outType, int n, int h, int w, int c) {
        Random r = new Random(c * 131L + h + System.nanoTime());
        double eps = 1e-6;
        float[] x = GpuSupport.stored(GpuSupport.random(r, n * h * w * c, 0.7f, 2f), dtype);
        float[] wt = GpuSupport.random(r, c, 1f, 0.3f), bs = GpuSupport.random(r, c, 0f, 0.3f);
        double[] ref = CpuReference.meanHwLayerNorm(x, n, h, w, c, wt, bs, eps);
        long bytes = 4L * x.length + 1024;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(4 * bytes + (16L << 10) * 4); PinnedBuffer host = dev.newPinned(bytes)) {
            Tensor tx = arena.allocate(dtype, Shape.nhwc(n, h, w, c));
            Tensor tw = arena.allocate(DType.F32, Shape.of(c)), tb = arena.allocate(DType.F32, Shape.of(c));
            Tensor out = arena.allocate(outType, Shape.of(n, c));
            boolean stats = (n + c) % 2 == 0;
            Tensor pooled = stats ? arena.allocate(DType.F32, Shape.of(n, c)) : null;
            Tensor mean = stats ? arena.allocate(DType.F32, Shape.of(n)) : null;
            Tensor rstd = stats ? arena.allocate(DType.F32, Shape.of(n)) : null;
            if (stats) for (Tensor t : new Tensor[] {pooled, mean, rstd}) GpuSupport.poison(dev, t, st);
            GpuSupport.upload(host, tx, x, st);
            GpuSupport.upload(host, tw, wt, st);
            GpuSupport.upload(host, tb, bs, st);
            GpuSupport.poison(dev, out, st);
            try (Launch l = MeanHwLayerNormLaunch.prepare(dev.modules(), out, pooled, mean, rstd, tx, tw, tb, eps)) {
                l.launch(st);
                float[] got = GpuSupport.download(host, out, st);
                double e = GpuSupport.relError(got, ref);
                double tol = outType == DType.F32 ? 1e-5 : 1e-2;
                assertTrue(e < tol, dtype + "->" + outType + " N=" + n + " HW=" + h * w + " C=" + c + ": relative error " + e + " >= " + tol);
                if (stats) {
                    double[] p = new double[n * c], mu = new double[n], rs = new double[n];
                    for (int b = 0; b < n; b++) {
                        double sum = 0, var = 0;
                        for (int ch = 0; ch < c; ch++) {
                            double a = 0;
                            for (int i = 0; i < h * w; i++) a += x[(b * h * w + i) * c + ch];
                            p[b * c + ch] = a / (h * w);
                            sum += p[b * c + ch];
                        }
                        mu[b] = sum / c;
                        for (int ch = 0; ch < c; ch++) var += (p[b * c + ch] - mu[b]) * (p[b * c + ch] - mu[b]);
                        rs[b] = 1 / Math.sqrt(var / c + eps);
                    }
                    String at = " N=" + n + " HW=" + h * w + " C=" + c;
                    double ep = GpuSupport.relError(GpuSupport.download(host, pooled, st), p);
                    double em = GpuSupport.relError(GpuSupport.download(host, mean, st), mu);
                    double er = GpuSupport.relError(GpuSupport.download(host, rstd, st), rs);
                    assertTrue(ep < 1e-5 && em < 1e-4 && er < 1e-4, "training outputs" + at + ": pooled " + ep + ", mean "
                            + em + ", rstd " + er);
                }
            }
        }
    }
}
