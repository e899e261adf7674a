package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.CrossEntropyLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * cross_entropy_{f32,bf16} + cross_entropy_mean against the float64 CpuExecutor's CrossEntropy and its Autodiff
 * gradient (CrossEntropyBackward, dLoss = 1) on the stored logits; every output poisoned with NaN first. N = 1, 3, 257
 * x classes 10 (Fashion-MNIST), 37, 1000 (ImageNet) x smoothing 0, 0.1, plus 300 and 4099 classes (2 and 8 warps
 * per row) and misaligned logits / labels / outputs (views an element or three into their allocations).
 *
 * <p>Errors normwise per tensor: loss rows and mean 1e-5 for both dtypes (the math is f32 on the stored values),
 * dLogits 1e-5 (f32) and 1e-2 (bf16 storage). Also: labels out of range (NaN row loss, zero dLogits row, NaN mean, the
 * count) with dLoss = 0.5, and two runs bit for bit the same.
 */
@Tag("gpu")
class CrossEntropyGpuTest {

    static Stream<Arguments> cases() {
        List<int[]> shapes = new ArrayList<>();  // N, classes, element offset of every view
        for (int n : new int[] {1, 3, 257})
            for (int k : new int[] {10, 37, 1000}) shapes.add(new int[] {n, k, 0});
        shapes.add(new int[] {257, 1000, 1});
        shapes.add(new int[] {3, 37, 3});
        shapes.add(new int[] {5, 300, 0});
        shapes.add(new int[] {4, 4099, 1});
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values())
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (double s : new double[] {0, 0.1})
                    for (int[] sh : shapes) out.add(Arguments.of(b, t, s, sh[0], sh[1], sh[2]));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} smoothing={2} N={3} classes={4} offset={5}")
    @MethodSource("cases")
    void matchesTheCpuReference(Backend backend, DType dtype, double smoothing, int n, int k, int offset) {
        Random r = new Random(n * 1009L + k + offset + System.nanoTime());
        float[] x = GpuSupport.stored(GpuSupport.random(r, n * k, 0.3f, 2f), dtype);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = r.nextInt(k);
        CpuReference.CrossEntropyRef ref = CpuReference.crossEntropy(x, y, n, k, smoothing);
        try (Run run = new Run(backend, dtype, n, k, offset)) {
            Result got = run.go(x, y, smoothing, 1.0);
            String what = dtype + " s=" + smoothing + " N=" + n + " K=" + k + " offset=" + offset;
            assertEquals(0, got.bad, what + ": bad-label count");
            double eRows = GpuSupport.relError(got.rows, ref.rowLoss());
            assertTrue(eRows < 1e-5, what + ": row losses relative error " + eRows);
            double eMean = Math.abs(got.mean - ref.mean()) / Math.abs(ref.mean());
            assertTrue(eMean < 1e-5, what + ": mean " + got.mean + " vs " + ref.mean() + ", relative error " + eMean);
            double eD = GpuSupport.relError(got.dLogits, ref.dLogits());
            double tol = dtype == DType.F32 ? 1e-5 : 1e-2;
            assertTrue(eD < tol, what + ": dLogits relative error " + eD + " >= " + tol);
        }
    }

    /** Labels -1, K and MIN/MAX_VALUE: NaN loss for those rows and the mean, dLogits 0 there, the others as usual. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Backend.class)
    void outOfRangeLabelsAreNaNRowsAndACount(Backend backend) {
        int n = 9, k = 37;
        double dLoss = 0.5;
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            Random r = new Random(System.nanoTime());
            float[] x = GpuSupport.stored(GpuSupport.random(r, n * k, 0f, 2f), dtype);
            int[] y = new int[n], valid = new int[n];
            for (int i = 0; i < n; i++) y[i] = valid[i] = r.nextInt(k);
            int[] bad = {1, 4, 5, 8};
            int[] badValues = {-1, k, Integer.MIN_VALUE, Integer.MAX_VALUE};
            for (int j = 0; j < bad.length; j++) {
                y[bad[j]] = badValues[j];
                valid[bad[j]] = 0;  // any class: those rows are not compared
            }
            CpuReference.CrossEntropyRef ref = CpuReference.crossEntropy(x, valid, n, k, 0.1);
            try (Run run = new Run(backend, dtype, n, k, 0)) {
                Result got = run.go(x, y, 0.1, dLoss);
                assertEquals(bad.length, got.bad, dtype + ": bad-label count");
                assertTrue(Float.isNaN(got.mean), dtype + ": mean with bad labels must be NaN, was " + got.mean);
                java.util.Set<Integer> badRows = new java.util.HashSet<>();
                for (int b : bad) badRows.add(b);
                for (int b = 0; b < n; b++) {
                    if (badRows.contains(b)) {
                        assertTrue(Float.isNaN(got.rows[b]), dtype + ": row " + b + " loss " + got.rows[b]);
                        for (int c = 0; c < k; c++) {
                            assertEquals(0f, got.dLogits[b * k + c], dtype + ": dLogits[" + b + ", " + c + "]");
                        }
                    } else {
                        double e = Math.abs(got.rows[b] - ref.rowLoss()[b]) / Math.abs(ref.rowLoss()[b]);
                        assertTrue(e < 1e-5, dtype + ": row " + b + " loss " + got.rows[b] + " vs " + ref.rowLoss()[b]);
                        float[] gotRow = java.util.Arrays.copyOfRange(got.dLogits, b * k, (b + 1) * k);
                        double[] refRow = new double[k];
                        for (int c = 0; c < k; c++) refRow[c] = dLoss * ref.dLogits()[b * k + c];
                        double eD = GpuSupport.relError(gotRow, refRow);
                        double tol = dtype == DType.F32 ? 1e-5 : 1e-2;
                        assertTrue(eD < tol, dtype + ": row " + b + " dLogits relative error " + eD);
                    }
                }
            }
        }
    }

    /** No atomics: the same inputs give the same bits, twice. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Backend.class)
    void twoRunsAreBitForBitTheSame(Backend backend) {
        int n = 257, k = 1000;
        Random r = new Random(System.nanoTime());
        float[] x = GpuSupport.random(r, n * k, 0f, 3f);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = r.nextInt(k);
        try (Run run = new Run(backend, DType.F32, n, k, 0)) {
            Result a = run.go(x, y, 0.1, 1.0), b = run.go(x, y, 0.1, 1.0);
            assertEquals(Float.floatToRawIntBits(a.mean), Float.floatToRawIntBits(b.mean), "mean");
            assertTrue(java.util.Arrays.equals(a.rows, b.rows), "row losses");
            assertTrue(java.util.Arrays.equals(a.dLogits, b.dLogits), "dLogits");
        }
    }

    record Result(float[] rows, float mean, int bad, float[] dLogits) {}

    /** A device, stream and the tensors of one problem, every view {@code offset} elements into its allocation. */
    private static final class Run implements AutoCloseable {
        final Device dev;
        final dev.mambaout.runtime.Stream st;
        final DeviceArena arena;
        final PinnedBuffer host;
        final Tensor logits, labels, rows, mean, bad, dLogits;
        final DType dtype;
        final int n, k;

        Run(Backend backend, DType dtype, int n, int k, int offset) {
            this.dtype = dtype;
            this.n = n;
            this.k = k;
            long bytes = 4L * (n * (long) k + offset) + 1024;
            dev = GpuSupport.open(backend);
            st = dev.newStream();
            arena = dev.newArena(2 * bytes + 4L * (n + offset) * 2 + (64L << 10));
            host = dev.newPinned(bytes);
            logits = view(dtype, Shape.of(n, k), offset);
            dLogits = view(dtype, Shape.of(n, k), offset);
            labels = view(DType.I32, Shape.of(n), offset);
            rows = view(DType.F32, Shape.of(n), offset);
            mean = view(DType.F32, Shape.of(1), offset);
            bad = view(DType.I32, Shape.of(1), offset);
        }

        private Tensor view(DType t, Shape s, int offset) {
            return arena.allocate(t, Shape.of(Math.toIntExact(s.numel() + offset))).view(offset, s);
        }

        Result go(float[] x, int[] y, double smoothing, double dLoss) {
            GpuSupport.upload(host, logits, x, st);
            for (int i = 0; i < n; i++) host.setInt(i, y[i]);
            host.uploadAsync(labels, st);
            st.synchronize();
            for (Tensor t : new Tensor[] {rows, mean, bad, dLogits}) GpuSupport.poison(dev, t, st);
            try (CrossEntropyLaunch l = CrossEntropyLaunch.prepare(dev.modules(), rows, mean, bad, dLogits, logits,
                    labels, smoothing, dLoss)) {
                l.launch(st);
                float[] r = GpuSupport.download(host, rows, st);
                float m = GpuSupport.download(host, mean, st)[0];
                host.downloadAsync(bad, st);
                st.synchronize();
                int b = host.getInt(0);
                float[] d = GpuSupport.download(host, dLogits, st);
                return new Result(r, m, b, d);
            }
        }

        @Override
        public void close() {
            try (dev; st; arena; host) {
                // closes in reverse order
            }
        }
    }
}
