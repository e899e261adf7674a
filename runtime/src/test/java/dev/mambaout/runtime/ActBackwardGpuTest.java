package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.ActBackwardLaunch;
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
 * act_backward_{f32,bf16} (GELU erf, SiLU) against graph's ActBackward on the float64 CpuExecutor
 * (CpuReference.actBackward) on the stored inputs; dx poisoned; sizes around the vector width and an odd million,
 * aligned and misaligned views (all three, or x alone, or dy and dx: the scalar path), and dx written over dy or x.
 *
 * <p>Error: ||got - ref|| / ||dy||-weighted scale, scale_i = max(|ref_i|, |dy_i|): act' is bounded (GELU's by
 * ~1.13), and float erf/exp are off by ~ulp(1) absolutely in it, so the error of an element is ~1e-7 |dy_i| however
 * small act'(x_i) is (GELU's tail, as in ActGpuTest).
 */
@Tag("gpu")
class ActBackwardGpuTest {

    enum Alias { NONE, DY, X }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        // n, x offset, dy (and dx) offset
        int[][] sizes = {{1, 0, 0}, {7, 0, 0}, {8, 0, 0}, {9, 0, 0}, {1_000_003, 0, 0}, {4099, 1, 1}, {4099, 3, 0},
                {4099, 0, 5}};
        for (Backend b : Backend.values())
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Activation a : Activation.values())
                    for (int[] s : sizes)
                        for (Alias alias : Alias.values()) {
                            if (alias == Alias.X && s[1] != s[2]) continue;  // dx = x needs x's view
                            out.add(Arguments.of(b, t, a, s[0], s[1], s[2], alias));
                        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3} xOffset={4} dyOffset={5} dx={6}")
    @MethodSource("cases")
    void matchesTheGraphsActBackward(Backend backend, DType dtype, Activation act, int n, int xOffset, int dyOffset,
                                     Alias alias) {
        Random r = new Random(n * 31L + xOffset + 7L * dyOffset + System.nanoTime());
        float[] x = GpuSupport.stored(GpuSupport.random(r, n, 0f, 3f), dtype);
        float[] dy = GpuSupport.stored(GpuSupport.random(r, n, 0f, 1f), dtype);
        long bytes = 4L * (n + Math.max(xOffset, dyOffset)) + 1024;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(4 * bytes); PinnedBuffer host = dev.newPinned(bytes)) {
            Tensor tx = arena.allocate(dtype, Shape.of(n + xOffset)).view(xOffset, Shape.of(n));
            Tensor tdy = arena.allocate(dtype, Shape.of(n + dyOffset)).view(dyOffset, Shape.of(n));
            Tensor tdx = switch (alias) {
                case NONE -> arena.allocate(dtype, Shape.of(n + dyOffset)).view(dyOffset, Shape.of(n));
                case DY -> tdy;
                case X -> tx;
            };
            double[] ref = CpuReference.actBackward(x, dy, act);  // after open: a skipped run does not build it
            if (alias == Alias.NONE) GpuSupport.poison(dev, tdx, st);
            GpuSupport.upload(host, tx, x, st);
            GpuSupport.upload(host, tdy, dy, st);
            try (Launch l = ActBackwardLaunch.prepare(dev.modules(), tdx, tx, tdy, act)) {
                l.launch(st);
                float[] got = GpuSupport.download(host, tdx, st);
                double[] scale = new double[n];
                for (int i = 0; i < n; i++) scale[i] = Math.max(Math.abs(ref[i]), Math.abs(dy[i]));
                double e = GpuSupport.relError(got, ref, scale);
                double tol = dtype == DType.F32 ? 1e-5 : 1e-2;
                assertTrue(e < tol, act + " " + dtype + " n=" + n + ": relative error " + e + " >= " + tol);
            }
        }
    }
}
