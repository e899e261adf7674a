package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.Col2imLaunch;
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
 * col2im_nhwc_{f32,bf16,bf16_f32} against CpuReference.col2imNhwc (the adjoint of the im2col gather, float64, fed the
 * stored dcol; Col2imReferenceTest ties it to graph's Conv2dBackwardInput). dcol's padding columns [k*k*C,
 * colStride) hold NaN, so reading one fails; dx is poisoned with NaN (overwrite) or holds random values
 * (accumulate: ref = prior + sum). Shapes: the model's k 3 s 2 p 1 at odd H/W, C = 3 and odd C (the per-element
 * path), k 1/2/5, stride 1 and 3, colStride > k*k*C (a multiple of 8: vector path; odd: per element), misaligned dcol
 * and dx views, a 1x1 image, and one large enough that the capped grid loops. Error ||got - ref|| / ||ref||: 1e-5
 * for f32 dx (including from bf16 dcol: f32 sums of exact values), 1e-2 for bf16 dx; elements no column reads must
 * come back exactly 0 (or their prior value).
 */
@Tag("gpu")
class Col2imGpuTest {

    enum Variant {
        F32(DType.F32, DType.F32), BF16(DType.BF16, DType.BF16), BF16_F32(DType.BF16, DType.F32);

        final DType dcol, dx;

        Variant(DType dcol, DType dx) {
            this.dcol = dcol;
            this.dx = dx;
        }
    }

    static Stream<Arguments> cases() {
        // N, H, W, C, k, s, p, colStride (0: Im2colKernels.colStride), dcol element offset, dx element offset
        int[][] shapes = {
                {2, 13, 11, 24, 3, 2, 1, 0, 0, 0}, {1, 14, 14, 48, 3, 2, 1, 0, 0, 0}, {3, 7, 9, 5, 3, 2, 1, 0, 0, 0},
                {2, 9, 7, 3, 3, 2, 1, 0, 0, 0}, {1, 11, 9, 7, 5, 3, 2, 0, 0, 0}, {2, 9, 8, 16, 5, 1, 2, 0, 0, 0},
                {2, 8, 8, 16, 1, 2, 0, 0, 0, 0}, {1, 7, 6, 8, 1, 1, 0, 0, 0, 0}, {2, 10, 9, 24, 3, 1, 1, 0, 0, 0},
                {2, 8, 7, 16, 2, 2, 0, 0, 0, 0}, {1, 9, 10, 24, 3, 2, 1, 232, 0, 0}, {1, 5, 6, 3, 3, 1, 1, 29, 0, 0},
                {1, 9, 10, 24, 3, 2, 1, 0, 1, 0}, {1, 9, 10, 24, 3, 2, 1, 0, 0, 3}, {1, 3, 3, 8, 3, 2, 1, 0, 0, 0},
                {1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, {8, 56, 56, 48, 3, 2, 1, 0, 0, 0}};
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values())
            for (Variant v : Variant.values())
                for (int[] s : shapes)
                    for (boolean accumulate : new boolean[] {false, true}) {
                        if (accumulate && s[0] == 8) continue;  // the large shape once per variant
                        out.add(Arguments.of(b, v, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], accumulate));
                    }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} N={2} H={3} W={4} C={5} k={6} s={7} p={8} colStride={9} dcolOffset={10} "
            + "dxOffset={11} accumulate={12}")
    @MethodSource("cases")
    void gatherMatchesTheAdjointOfIm2col(Backend backend, Variant variant, int n, int h, int w, int c, int k, int s,
                                         int p, int colStrideOverride, int dcolOffset, int dxOffset, boolean accumulate) {
        Random r = new Random(c * 7919L + h * 31L + k + System.nanoTime());
        int colStride = colStrideOverride > 0 ? colStrideOverride : Im2colKernels.colStride(k, c);
        int ho = Im2colKernels.outSize(h, k, s, p), wo = Im2colKernels.outSize(w, k, s, p), rows = n * ho * wo;
        int kkc = k * k * c, pixels = n * h * w;
        float[] dcol = GpuSupport.stored(GpuSupport.random(r, rows * colStride, 0f, 1f), variant.dcol);
        for (int row = 0; row < rows; row++)
            for (int j = kkc; j < colStride; j++) dcol[row * colStride + j] = Float.NaN;  // never to be read
        float[] prior = accumulate ? GpuSupport.stored(GpuSupport.random(r, pixels * c, 0f, 1f), variant.dx) : null;
        CpuReference.Col2im ref = CpuReference.col2imNhwc(dcol, n, h, w, c, k, s, p, colStride);
        double[] want = ref.dx();
        if (accumulate) for (int i = 0; i < want.length; i++) want[i] += prior[i];

        long bytes = 4L * Math.max(dcol.length + dcolOffset, pixels * c + dxOffset) + 1024;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(4 * bytes); PinnedBuffer host = dev.newPinned(bytes)) {
            Tensor tcol = arena.allocate(variant.dcol, Shape.of(dcol.length + dcolOffset))
                    .view(dcolOffset, Shape.of(rows, colStride));
            Tensor tdx = arena.allocate(variant.dx, Shape.of(pixels * c + dxOffset)).view(dxOffset, Shape.nhwc(n, h, w, c));
            GpuSupport.upload(host, tcol, dcol, st);
            if (accumulate) GpuSupport.upload(host, tdx, prior, st);
            else GpuSupport.poison(dev, tdx, st);
            try (Launch l = Col2imLaunch.prepareNhwc(dev.modules(), tdx, tcol, k, s, p, accumulate)) {
                l.launch(st);
                float[] got = GpuSupport.download(host, tdx, st);
                for (int i = 0; i < got.length; i++) {
                    if (ref.taps()[i] == 0) {
                        float expect = accumulate ? prior[i] : 0f;
                        assertEquals(Float.floatToRawIntBits(expect), Float.floatToRawIntBits(got[i]),
                                "dx[" + i + "] is read by no column: must be " + expect + ", was " + got[i]);
                    }
                }
                double e = GpuSupport.relError(got, want);
                double tol = variant.dx == DType.F32 ? 1e-5 : 1e-2;
                assertTrue(e < tol, variant + ": relative error " + e + " >= " + tol);
            }
        }
    }
}
