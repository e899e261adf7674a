package dev.mambaout.runtime;

import dev.mambaout.kernels.Im2colKernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The column order on the CPU: col (the gather the im2col kernels are checked against bit for bit) times
 * packWeight(...)^T must be the CpuExecutor's Conv2d, so the kernels' layout is the real convolution's.
 */
class Im2colPackWeightTest {

    @ParameterizedTest(name = "N={0} H={1} W={2} Cin={3} Cout={4} k={5} s={6} p={7}")
    @CsvSource({"2, 9, 9, 3, 8, 3, 2, 1", "1, 12, 10, 24, 5, 3, 2, 1", "2, 7, 11, 5, 3, 5, 1, 2", "1, 8, 8, 4, 6, 2, 2, 0",
            "3, 10, 7, 7, 4, 3, 3, 0", "1, 1, 1, 1, 1, 1, 1, 0", "1, 4, 5, 2, 3, 3, 2, 3"})
    void colTimesPackedWeightIsTheConvolution(int n, int h, int w, int cin, int cout, int k, int s, int p) {
        Random r = new Random(31L * h + 7L * cin + k);
        float[] x = GpuSupport.random(r, n * h * w * cin, 0.5f, 1f);
        float[] wt = GpuSupport.random(r, cout * cin * k * k, 0f, 0.3f), b = GpuSupport.random(r, cout, 0f, 1f);
        int stride = Im2colKernels.colStride(k, cin);
        int ho = Im2colKernels.outSize(h, k, s, p), wo = Im2colKernels.outSize(w, k, s, p), rows = n * ho * wo;
        float[] col = CpuReference.im2colNhwc(x, n, h, w, cin, k, s, p, stride);
        float[] packed = Im2colKernels.packWeight(wt, cout, cin, k);
        assertEquals(cout * stride, packed.length);
        double[] ref = CpuReference.conv2d(x, n, h, w, cin, wt, b, cout, k, s, p);
        assertEquals(rows * cout, ref.length);
        double maxErr = 0, maxRef = 0;
        for (int row = 0; row < rows; row++) {
            for (int co = 0; co < cout; co++) {
                double acc = b[co];
                for (int j = 0; j < stride; j++) acc += (double) col[row * stride + j] * packed[co * stride + j];
                maxErr = Math.max(maxErr, Math.abs(acc - ref[row * cout + co]));
                maxRef = Math.max(maxRef, Math.abs(ref[row * cout + co]));
            }
        }
        assertTrue(maxErr <= 1e-12 * Math.max(1, maxRef), "max |col x packed^T - conv2d| = " + maxErr);

        // The NCHW gather (the stem's) gives the same columns as the NHWC one on the transposed batch.
        float[] nchw = new float[x.length];
        for (int bi = 0; bi < n; bi++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++)
                    for (int c = 0; c < cin; c++) nchw[((bi * cin + c) * h + y) * w + xx] = x[((bi * h + y) * w + xx) * cin + c];
        assertArrayEquals(col, CpuReference.im2colNchw(nchw, n, cin, h, w, k, s, p, stride));
    }

    @Test
    void packedRowsAreZeroPastTheTaps() {
        float[] wt = new float[2 * 3 * 9];
        java.util.Arrays.fill(wt, 1f);
        float[] packed = Im2colKernels.packWeight(wt, 2, 3, 3);   // k*k*C = 27 -> stride 32
        assertEquals(64, packed.length);
        for (int co = 0; co < 2; co++) {
            for (int j = 0; j < 32; j++) assertEquals(j < 27 ? 1f : 0f, packed[co * 32 + j], "co=" + co + " j=" + j);
        }
        assertThrows(IllegalArgumentException.class, () -> Im2colKernels.packWeight(new float[5], 2, 3, 3));
    }
}
