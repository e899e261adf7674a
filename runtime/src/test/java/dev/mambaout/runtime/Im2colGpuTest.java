package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.Im2colLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * im2col_{nhwc,nchw}_{f32,bf16} against the CPU gather, bit for bit (a gather copies; the NCHW bf16 kernel rounds
 * each f32 to nearest even, as DType.floatToBf16 does), col poisoned first so a column never written fails. Shapes
 * cover the vector-load path (C % 8 == 0), the per-element gather (odd C, a misaligned x view), scalar stores
 * (col_stride not a multiple of the vector), and k, s, p other than 3, 2, 1.
 */
@Tag("gpu")
class Im2colGpuTest {

    static Stream<Arguments> cases() {
        // layout, N, H, W, C, k, s, p, colStride (0: Im2colKernels.colStride), x element offset (misaligned view)
        Object[][] shapes = {
                {"nchw", 2, 17, 15, 3, 3, 2, 1, 0, 0}, {"nchw", 1, 9, 9, 3, 3, 2, 1, 27, 0},
                {"nchw", 2, 8, 7, 5, 5, 3, 2, 0, 0},
                {"nhwc", 2, 13, 11, 24, 3, 2, 1, 0, 0}, {"nhwc", 1, 14, 14, 48, 3, 2, 1, 0, 0},
                {"nhwc", 3, 7, 9, 5, 3, 2, 1, 0, 0}, {"nhwc", 1, 11, 9, 7, 5, 3, 2, 0, 0},
                {"nhwc", 2, 8, 8, 16, 2, 2, 0, 0, 0}, {"nhwc", 1, 9, 10, 24, 3, 2, 1, 0, 1},
                {"nhwc", 1, 5, 6, 3, 3, 1, 1, 27, 0}, {"nhwc", 1, 1, 1, 1, 1, 1, 0, 0, 0},
                // f32 NHWC into col (a bf16 program's f32 residual stream at a downsampling conv)
                {"nhwc-f32", 2, 14, 14, 48, 3, 2, 1, 0, 0}, {"nhwc-f32", 1, 7, 9, 5, 3, 2, 1, 0, 1}};
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values())
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Object[] s : shapes) {
                    Object[] a = new Object[s.length + 2];
                    a[0] = b;
                    a[1] = t;
                    System.arraycopy(s, 0, a, 2, s.length);
                    out.add(Arguments.of(a));
                }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} N={3} H={4} W={5} C={6} k={7} s={8} p={9} colStride={10} xOffset={11}")
    @MethodSource("cases")
    void gatherMatchesTheCpuBitForBit(Backend backend, DType dtype, String layout, int n, int h, int w, int c, int k,
                                      int s, int p, int colStrideOverride, int xOffset) {
        boolean nchw = layout.equals("nchw");
        DType inType = nchw || layout.equals("nhwc-f32") ? DType.F32 : dtype;
        Random r = new Random(c * 7919L + h * 31L + System.nanoTime());
        int colStride = colStrideOverride > 0 ? colStrideOverride : Im2colKernels.colStride(k, c);
        int ho = Im2colKernels.outSize(h, k, s, p), wo = Im2colKernels.outSize(w, k, s, p), rows = n * ho * wo;
        float[] x = GpuSupport.stored(GpuSupport.random(r, n * h * w * c, 0f, 2f), inType);
        float[] ref = GpuSupport.stored(nchw ? CpuReference.im2colNchw(x, n, c, h, w, k, s, p, colStride)
                : CpuReference.im2colNhwc(x, n, h, w, c, k, s, p, colStride), dtype);
        long bytes = 4L * Math.max(x.length + xOffset, rows * colStride) + 1024;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(4 * bytes); PinnedBuffer host = dev.newPinned(bytes)) {
            Shape xs = nchw ? Shape.of(n, c, h, w) : Shape.nhwc(n, h, w, c);
            Tensor xbuf = arena.allocate(inType, Shape.of(x.length + xOffset));
            Tensor tx = xbuf.view(xOffset, xs);
            Tensor col = arena.allocate(dtype, Shape.of(rows, colStride));
            GpuSupport.upload(host, tx, x, st);
            GpuSupport.poison(dev, col, st);
            try (Launch l = nchw ? Im2colLaunch.prepareNchw(dev.modules(), col, tx, k, s, p)
                    : Im2colLaunch.prepareNhwc(dev.modules(), col, tx, k, s, p)) {
                l.launch(st);
                float[] got = GpuSupport.download(host, col, st);
                for (int i = 0; i < ref.length; i++) {
                    if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(ref[i])) {
                        assertEquals(ref[i], got[i], 0f, "col[" + i / colStride + ", " + i % colStride + "] of "
                                + rows + " x " + colStride);
                        assertTrue(false, "col[" + i / colStride + ", " + i % colStride + "]: bits differ");
                    }
                }
            }
        }
    }
}
