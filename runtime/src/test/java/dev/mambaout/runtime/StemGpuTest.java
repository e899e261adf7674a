package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.kernels.StemKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.StemLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * stem_conv_forward (conv 3x3 from NCHW + bias -> [LayerNorm] -> act, NHWC out) against the float64 CpuExecutor
 * running the graph's own ops (NchwToNhwc, Conv2d, LayerNorm, Act) on fresh random inputs; out poisoned. Shapes: odd
 * H and W, 1 to 4 input channels, output channels on and between the kernel's widths (5, 24, 30, 48, 64), no
 * LayerNorm (timm's `_rw` stems), SiLU, stride 1, padding 0, and a batch past one block.
 */
@Tag("gpu")
class StemGpuTest {

    static Stream<Arguments> cases() {
        // n, cin, h, w, cout, stride, padding, norm, act
        Object[][] shapes = {
                {2, 3, 37, 29, 24, 2, 1, true, Activation.GELU},
                {3, 3, 16, 16, 48, 2, 1, true, Activation.GELU},
                {1, 1, 33, 35, 5, 2, 1, true, Activation.GELU},
                {2, 3, 17, 19, 64, 2, 1, false, Activation.GELU},
                {2, 3, 15, 13, 12, 2, 1, true, Activation.SILU},
                {1, 2, 20, 21, 40, 1, 1, true, Activation.GELU},
                {1, 3, 9, 11, 30, 2, 0, true, Activation.GELU},
                {5, 4, 24, 20, 32, 2, 1, true, Activation.GELU},
                {9, 1, 32, 32, 24, 2, 1, true, Activation.GELU},
        };
        return GpuSupport.onBothBackendsAndTypes(shapes);
    }

    @ParameterizedTest(name = "{0} {1} n={2} cin={3} {4}x{5} cout={6} s={7} p={8} norm={9} {10}")
    @MethodSource("cases")
    void matchesTheCpuReference(Backend backend, DType dtype, int n, int cin, int h, int w, int cout, int stride,
                                int padding, boolean norm, Activation act) {
        Random r = new Random(cout * 131L + h + System.nanoTime());
        float[] x = GpuSupport.random(r, n * cin * h * w, 0f, 1f);
        float[] weight = GpuSupport.random(r, cout * cin * 9, 0f, 0.3f);
        float[] bias = GpuSupport.random(r, cout, 0f, 0.2f);
        float[] gamma = norm ? GpuSupport.random(r, cout, 1f, 0.2f) : null;
        float[] beta = norm ? GpuSupport.random(r, cout, 0f, 0.2f) : null;
        double eps = 1e-6;
        double[] ref = CpuReference.stem(x, n, cin, h, w, weight, bias, gamma, beta, cout, 3, stride, padding, eps, act);
        float[] packed = StemKernels.pack(weight, bias, gamma, beta, cout, cin);
        int ho = Im2colKernels.outSize(h, 3, stride, padding), wo = Im2colKernels.outSize(w, 3, stride, padding);
        long outBytes = (long) n * ho * wo * cout * dtype.bytes();
        long bytes = 4L * x.length + 4L * packed.length + outBytes + 4096;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(2 * bytes); PinnedBuffer host = dev.newPinned(Math.max(bytes, 4L * ref.length))) {
            Tensor tx = arena.allocate(DType.F32, Shape.of(n, cin, h, w));
            Tensor tp = arena.allocate(DType.F32, Shape.of(packed.length));
            Tensor out = arena.allocate(dtype, Shape.nhwc(n, ho, wo, cout));
            GpuSupport.poison(dev, out, st);
            GpuSupport.upload(host, tx, x, st);
            GpuSupport.upload(host, tp, packed, st);
            try (Launch l = StemLaunch.prepare(dev.modules(), out, tx, tp, cout, stride, padding, norm, eps, act)) {
                l.launch(st);
                float[] got = GpuSupport.download(host, out, st);
                double e = GpuSupport.relError(got, ref);
                double tol = dtype == DType.F32 ? 1e-5 : 1e-2;
                assertTrue(e < tol, dtype + " cout=" + cout + ": relative error " + e + " >= " + tol);
            }
        }
    }
}
