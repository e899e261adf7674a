package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.runtime.launch.AdamWLaunch;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AdamWLaunch refuses wrong buffers before any module is loaded (the fake driver has none). */
class AdamWLaunchTest {

    private static final int N = 1000;
    private static final long P = 0x100000, G = 0x200000, M = 0x300000, V = 0x400000, B = 0x500000, NORM = 0x600000,
            H = 0x700000, WS = 0x800000;

    private static Tensor f32(long at, int n) { return new Tensor(at, 0, Shape.of(n), DType.F32); }

    @Test
    void wrongBuffersAreNamed() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules k = dev.modules();
            Tensor p = f32(P, N), g = f32(G, N), m = f32(M, N), v = f32(V, N);
            Tensor b = new Tensor(B, 0, Shape.of(N), DType.BF16), norm = f32(NORM, 1);
            Tensor h = new Tensor(H, 0, Shape.of(AdamWKernels.HYPER_DOUBLES), DType.F64);
            Tensor ws = new Tensor(WS, 0, Shape.of(AdamWKernels.WORKSPACE_BYTES), DType.U8);

            refused("adamw: grads must be F32 with 1000 elements (params'), was F32 [999]",
                    () -> AdamWLaunch.prepare(k, p, f32(G, N - 1), m, v, b, norm, h, ws, 10));
            refused("adamw: expAvg must be F32 with 1000 elements (params'), was BF16 [1000]",
                    () -> AdamWLaunch.prepare(k, p, g, new Tensor(M, 0, Shape.of(N), DType.BF16), v, b, norm, h, ws, 10));
            refused("adamw: paramsBf16 must be BF16 with 1000 elements (params'), was F32 [1000]",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, f32(B, N), norm, h, ws, 10));
            refused("adamw: gradNorm must be F32 with one element, was F32 [2]",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, b, f32(NORM, 2), h, ws, 10));
            refused("adamw: hyper must be F64 with at least 8 elements",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, b, norm, f32(H, 16), ws, 10));
            refused("adamw: workspace must hold at least 8256 bytes",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, b, norm, h, new Tensor(WS, 0, Shape.of(100), DType.U8), 10));
            refused("16-byte aligned address",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, b, norm, h, new Tensor(WS, 8, Shape.of(9000), DType.U8), 10));
            refused("adamw: decayCount must be in [0, 1000], was 1001",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, b, norm, h, ws, 1001));
            refused("adamw: params and expAvgSq overlap",
                    () -> AdamWLaunch.prepare(k, p, g, m, new Tensor(P, 3996, Shape.of(N), DType.F32), b, norm, h, ws, 0));
            refused("adamw: paramsBf16 and workspace overlap",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, new Tensor(WS, 0, Shape.of(N), DType.BF16), norm, h, ws, 0));
            refused("adamw: modules, params, grads, expAvg, expAvgSq, hyper and workspace are required",
                    () -> AdamWLaunch.prepare(k, p, g, m, v, b, norm, null, ws, 0));
        }
    }

    @Test
    void hyperparametersAreStagedAsDoubles() {
        try (Device dev = Device.open(new FakeDriver(), 0); PinnedBuffer pin = dev.newPinned(AdamWKernels.HYPER_BYTES)) {
            AdamWLaunch.writeHyper(pin, new AdamWKernels.Hyper(3e-4, 0.9, 0.95, 1e-8, 0.05, 12, 1.0));
            assertEquals(3e-4, Double.longBitsToDouble(pin.getLong(AdamWKernels.HYPER_LR)));
            assertEquals(0.95, Double.longBitsToDouble(pin.getLong(AdamWKernels.HYPER_BETA2)));
            assertEquals(12.0, Double.longBitsToDouble(pin.getLong(AdamWKernels.HYPER_STEP)));
            assertEquals(1.0, Double.longBitsToDouble(pin.getLong(AdamWKernels.HYPER_MAX_NORM)));
        }
        try (Device dev = Device.open(new FakeDriver(), 0); PinnedBuffer small = dev.newPinned(32)) {
            refused("the hyperparameters need 64",
                    () -> AdamWLaunch.writeHyper(small, new AdamWKernels.Hyper(3e-4, 0.9, 0.95, 1e-8, 0.05, 1, 0)));
        }
    }

    private static void refused(String expected, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
