package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.MeanHwBackwardLaunch;
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
 * mean_hw_backward_{f32,bf16,f32_bf16} against MeanHWBackward's definition (dx = dy / HW, float64) on the stored dy;
 * dx poisoned. HW 1 (Fashion-MNIST's last stage), 49 (224 px), 3136; C odd and multiples of 8 (femto's 288, tiny's
 * 576); views 1 or 3 elements in (the scalar path); a grid with fewer threads than a row's units is not reachable from
 * the launcher, but the 1-image, 1-row shapes come close.
 */
@Tag("gpu")
class MeanHwBackwardGpuTest {

    static Stream<Arguments> cases() {
        int[][] shapes = {  // N, H, W, C, element offset of dx and dy
                {3, 7, 7, 288, 0}, {2, 7, 7, 576, 0}, {256, 1, 1, 288, 0}, {3, 1, 1, 37, 0}, {5, 1, 1, 1, 0},
                {1, 56, 56, 48, 0}, {2, 56, 56, 13, 0}, {4, 7, 7, 8, 1}, {3, 7, 7, 288, 3}, {1, 56, 56, 96, 1},
                {2, 7, 7, 9, 0}, {1, 1, 1, 8, 0}, {2, 3, 5, 4, 0}};
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values())
            for (DType[] t : new DType[][] {{DType.F32, DType.F32}, {DType.BF16, DType.BF16}, {DType.F32, DType.BF16}})
                for (int[] s : shapes) out.add(Arguments.of(b, t[0], t[1], s[0], s[1], s[2], s[3], s[4]));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}->{2} N={3} H={4} W={5} C={6} offset={7}")
    @MethodSource("cases")
    void matchesTheCpuReference(Backend backend, DType dyType, DType dxType, int n, int h, int w, int c, int offset) {
        Random r = new Random(c * 131L + h + offset + System.nanoTime());
        int hw = h * w;
        float[] dy = GpuSupport.stored(GpuSupport.random(r, n * c, 0f, 1f), dyType);
        double[] ref = CpuReference.meanHwBackward(dy, n, hw, c);
        long bytes = 4L * (ref.length + offset) + 1024;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(2 * bytes + (64L << 10)); PinnedBuffer host = dev.newPinned(bytes)) {
            Tensor tdy = arena.allocate(dyType, Shape.of(n * c + offset)).view(offset, Shape.of(n, c));
            Tensor tdx = arena.allocate(dxType, Shape.of(ref.length + offset)).view(offset, Shape.nhwc(n, h, w, c));
            GpuSupport.upload(host, tdy, dy, st);
            GpuSupport.poison(dev, tdx, st);
            try (Launch l = MeanHwBackwardLaunch.prepare(dev.modules(), tdx, tdy)) {
                l.launch(st);
                float[] got = GpuSupport.download(host, tdx, st);
                double e = GpuSupport.relError(got, ref);
                double tol = dxType == DType.F32 ? 1e-5 : 1e-2;
                assertTrue(e < tol, dyType + "->" + dxType + " N=" + n + " HW=" + hw + " C=" + c + " offset=" + offset
                        + ": relative error " + e + " >= " + tol);
            }
        }
    }
}
