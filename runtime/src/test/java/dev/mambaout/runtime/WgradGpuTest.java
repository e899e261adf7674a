package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.WgradKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.WgradLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * wgrad_partial + wgrad_reduce (dW = dY^T X, db = colsum dY) against a float64 sum of the stored values on fresh
 * random inputs, dW and db poisoned first: widths off the 4 x 4 tiles (5 x 7, 13 x 9), the widest (64 x 64), rows
 * below one chunk, past one block (4096) and not a multiple of either, a view at an odd offset (the scalar staging
 * path); and the same bits when run twice (the sums' order is fixed by the shape).
 */
@Tag("gpu")
class WgradGpuTest {

    static Stream<Arguments> cases() {
        return GpuSupport.onBothBackendsAndTypes(new Object[][] {
                {1, 1, 1, 0}, {5000, 24, 32, 0}, {9001, 5, 7, 0}, {70001, 48, 32, 0}, {4097, 64, 64, 0},
                {3000, 24, 32, 1}, {12345, 13, 9, 0}, {63, 64, 16, 3}});
    }

    @ParameterizedTest(name = "{0} {1} rows={2} m={3} n={4} offset={5}")
    @MethodSource("cases")
    void matchesAFloat64Sum(Backend backend, DType dtype, int rows, int m, int n, int offset) {
        Random r = new Random(rows * 31L + m * 7 + n + System.nanoTime());
        float[] dy = GpuSupport.stored(GpuSupport.random(r, rows * m, 0f, 1f), dtype);
        float[] x = GpuSupport.stored(GpuSupport.random(r, rows * n, 0f, 1f), dtype);
        double[] refW = new double[m * n], refB = new double[m];
        for (int i = 0; i < rows; i++)
            for (int o = 0; o < m; o++) {
                refB[o] += dy[i * m + o];
                for (int t = 0; t < n; t++) refW[o * n + t] += (double) dy[i * m + o] * x[i * n + t];
            }
        long ws = WgradKernels.workspaceFloats(rows, m, n);
        long bytes = (long) dtype.bytes() * ((long) rows * (m + n) + 2L * offset) + 4L * (m * n + m + ws) + 8192;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(2 * bytes);
             PinnedBuffer host = dev.newPinned(4L * Math.max((long) rows * Math.max(m, n), m * n) + 4096)) {
            Tensor tdy = arena.allocate(dtype, Shape.of(rows * m + offset)).view(offset, Shape.of(rows, m));
            Tensor tx = arena.allocate(dtype, Shape.of(rows * n + offset)).view(offset, Shape.of(rows, n));
            Tensor dw = arena.allocate(DType.F32, Shape.of(m, n)), db = arena.allocate(DType.F32, Shape.of(m));
            Tensor work = arena.allocate(DType.F32, Shape.of(Math.toIntExact(ws)));
            GpuSupport.upload(host, tdy, dy, st);
            GpuSupport.upload(host, tx, x, st);
            float[] first = null;
            for (int run = 0; run < 2; run++) {
                GpuSupport.poison(dev, dw, st);
                GpuSupport.poison(dev, db, st);
                try (WgradLaunch l = WgradLaunch.prepare(dev.modules(), dw, db, work, tdy, tx, rows, m, n)) {
                    l.launch(st);
                }
                float[] gw = GpuSupport.download(host, dw, st), gb = GpuSupport.download(host, db, st);
                double ew = GpuSupport.relError(gw, refW), eb = GpuSupport.relError(gb, refB);
                assertTrue(ew < 1e-5 && eb < 1e-5, dtype + " rows=" + rows + " m=" + m + " n=" + n + ": dW " + ew
                        + ", db " + eb);
                if (first == null) first = gw;
                else assertArrayEquals(first, gw, "the same bits on a second run");
            }
        }
    }
}
