package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.ActLaunch;
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
 * act_forward_{f32,bf16} (GELU erf, SiLU) against the float64 CpuExecutor on the stored inputs; out poisoned; sizes
 * around the vector width and an odd million, aligned and misaligned views (the scalar path), and in place.
 *
 * <p>Error: ||got - ref|| / ||scale|| with scale_i = max(|ref_i|, |x_i|). GELU's tail 0.5 x (1 + erf(x / sqrt 2))
 * cancels in float for x << 0 (any float GELU, PyTorch's too, is off there by about ulp(1) * |x|), so a few very
 * negative inputs alone would fail a bound relative to ||ref||; relative to the input's size it is ~1e-7.
 */
@Tag("gpu")
class ActGpuTest {

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values())
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Activation a : Activation.values())
                    for (int[] nOff : new int[][] {{1, 0}, {7, 0}, {8, 0}, {9, 0}, {1_000_003, 0}, {4099, 1}, {4099, 3}})
                        for (boolean inPlace : new boolean[] {false, true}) {
                            out.add(Arguments.of(b, t, a, nOff[0], nOff[1], inPlace));
                        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3} offset={4} inPlace={5}")
    @MethodSource("cases")
    void matchesTheCpuReference(Backend backend, DType dtype, Activation act, int n, int offset, boolean inPlace) {
        Random r = new Random(n * 31L + offset + System.nanoTime());
        float[] x = GpuSupport.stored(GpuSupport.random(r, n, 0f, 3f), dtype);
        double[] ref = CpuReference.activation(x, act);
        long bytes = 4L * (n + offset) + 1024;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(4 * bytes); PinnedBuffer host = dev.newPinned(bytes)) {
            Tensor tx = arena.allocate(dtype, Shape.of(n + offset)).view(offset, Shape.of(n));
            Tensor out = inPlace ? tx : arena.allocate(dtype, Shape.of(n + offset)).view(offset, Shape.of(n));
            if (!inPlace) GpuSupport.poison(dev, out, st);
            GpuSupport.upload(host, tx, x, st);
            try (Launch l = ActLaunch.prepare(dev.modules(), out, tx, act)) {
                l.launch(st);
                float[] got = GpuSupport.download(host, out, st);
                double[] scale = new double[n];
                for (int i = 0; i < n; i++) scale[i] = Math.max(Math.abs(ref[i]), Math.abs(x[i]));
                double e = GpuSupport.relError(got, ref, scale);
                double tol = dtype == DType.F32 ? 1e-5 : 1e-2;
                assertTrue(e < tol, act + " " + dtype + " n=" + n + ": relative error " + e + " >= " + tol);
            }
        }
    }
}
