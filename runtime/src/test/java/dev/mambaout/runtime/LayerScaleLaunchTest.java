package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.runtime.launch.LayerScaleBackwardLaunch;
import dev.mambaout.runtime.launch.LayerScaleLaunch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static dev.mambaout.graph.DType.BF16;
import static dev.mambaout.graph.DType.F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LayerScaleLaunch's and LayerScaleBackwardLaunch's refusals before any module is loaded (the fake driver has none),
 * the in-place forward getting past them, and the backward's workspace size.
 */
class LayerScaleLaunchTest {

    private static final long OUT = 0x10000, SC = 0x20000, X = 0x30000, G = 0x40000, DG = 0x40100, WS = 0x50000,
            DY = 0x60000;
    private static final Shape SHAPE = Shape.nhwc(2, 3, 3, 8);   // 18 tokens x 8 channels: 2 partial rows

    @Test
    void theWorkspaceHoldsOnePartialRowPerBlock() {
        assertEquals(2 * 8, LayerScaleBackwardLaunch.workspaceFloats(SHAPE));
        assertEquals(63 * 197, LayerScaleBackwardLaunch.workspaceFloats(Shape.of(1000, 197)));
        assertEquals(528 * 3, LayerScaleBackwardLaunch.workspaceFloats(Shape.of(100_000, 3)));
        refused("layerscale backward: x must have a channel dimension, was a scalar",
                () -> LayerScaleBackwardLaunch.workspaceFloats(Shape.of()));
    }

    @Test
    void forwardRefusalsNameTheKernelAndTheTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor out = f32(OUT, SHAPE), sc = f32(SC, SHAPE), x = new Tensor(X, 0, SHAPE, BF16), g = f32(G, Shape.of(8));
            String k = "layerscale_residual_forward_bf16: ";

            refused("modules, out, shortcut, x and gamma are required", () -> LayerScaleLaunch.prepare(m, out, sc, x, null));
            refused("layerscale forward: x must be F32 or BF16, was I32",
                    () -> LayerScaleLaunch.prepare(m, out, sc, new Tensor(X, 0, SHAPE, DType.I32), g));
            refused(k + "shortcut must be F32 [2, 3, 3, 8] like x, was BF16 [2, 3, 3, 8]",
                    () -> LayerScaleLaunch.prepare(m, out, new Tensor(SC, 0, SHAPE, BF16), x, g));
            refused(k + "out must be F32 [2, 3, 3, 8] like x, was F32 [18, 8]",
                    () -> LayerScaleLaunch.prepare(m, f32(OUT, Shape.of(18, 8)), sc, x, g));
            refused(k + "gamma must be F32 [8], was F32 [9]", () -> LayerScaleLaunch.prepare(m, out, sc, x, f32(G, Shape.of(9))));
            refused(k + "out overlaps shortcut without being it",
                    () -> LayerScaleLaunch.prepare(m, new Tensor(SC, 4, SHAPE, F32), sc, x, g));
            refused(k + "out overlaps x", () -> LayerScaleLaunch.prepare(m, new Tensor(X, 8, SHAPE, F32), sc, x, g));
            refused(k + "out overlaps gamma", () -> LayerScaleLaunch.prepare(m, f32(G - 16, SHAPE), sc, x, g));
            refused("layerscale_residual_forward_f32: x must have a channel dimension, was a scalar",
                    () -> LayerScaleLaunch.prepare(m, f32(OUT, Shape.of()), f32(SC, Shape.of()), f32(X, Shape.of()),
                            f32(G, Shape.of(1))));
            Shape big = Shape.of(1 << 16, 1 << 15);
            refused("more than the kernels' 32-bit indices allow",
                    () -> LayerScaleLaunch.prepare(m, f32(OUT, big), f32(SC, big), f32(X, big), f32(G, Shape.of(1 << 15))));

            // In place passes the checks and only then needs the module, which the fake cannot load.
            RuntimeException inPlace = assertThrows(RuntimeException.class, () -> LayerScaleLaunch.prepare(m, sc, sc, x, g));
            assertFalse(inPlace instanceof IllegalArgumentException, inPlace.toString());
        }
    }

    @Test
    void backwardRefusalsNameTheKernelAndTheTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor dx = new Tensor(OUT, 0, SHAPE, BF16), dg = f32(DG, Shape.of(8)), ws = f32(WS, Shape.of(16));
            Tensor dy = f32(DY, SHAPE), x = new Tensor(X, 0, SHAPE, BF16), g = f32(G, Shape.of(8));
            String k = "layerscale_backward_bf16: ";

            refused("modules, dx, dGamma, workspace, dy, x and gamma are required",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, null, dy, x, g, false));
            refused("layerscale backward: x must be F32 or BF16, was I32",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, ws, dy, new Tensor(X, 0, SHAPE, DType.I32), g, false));
            refused(k + "dx must be BF16 [2, 3, 3, 8] like x, was F32 [2, 3, 3, 8]",
                    () -> LayerScaleBackwardLaunch.prepare(m, f32(OUT, SHAPE), dg, ws, dy, x, g, false));
            refused(k + "dy must be F32 [2, 3, 3, 8] like x (the residual stream's gradient), was BF16 [2, 3, 3, 8]",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, ws, new Tensor(DY, 0, SHAPE, BF16), x, g, false));
            refused(k + "gamma must be F32 [8], was BF16 [8]",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, ws, dy, x, new Tensor(G, 0, Shape.of(8), BF16), true));
            refused(k + "dGamma must be F32 [8], was F32 [2, 4]",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, f32(DG, Shape.of(2, 4)), ws, dy, x, g, true));
            refused(k + "workspace must be F32 with at least 16 elements (2 partial rows of 8; workspaceFloats), was F32 [15]",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, f32(WS, Shape.of(15)), dy, x, g, false));
            refused(k + "workspace must be F32 with at least 16 elements",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, new Tensor(WS, 0, Shape.of(16), BF16), dy, x, g, false));
            refused(k + "dx overlaps dy; the kernels do not run in place",
                    () -> LayerScaleBackwardLaunch.prepare(m, new Tensor(DY, 2, SHAPE, BF16), dg, ws, dy, x, g, false));
            refused(k + "dGamma overlaps gamma",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, f32(G, Shape.of(8)), ws, dy, x, g, true));
            refused(k + "dGamma overlaps workspace",
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, f32(DG + 28, Shape.of(16)), dy, x, g, true));
            // Only the used part of a larger workspace counts: one ending right before dy is accepted.
            RuntimeException fits = assertThrows(RuntimeException.class,
                    () -> LayerScaleBackwardLaunch.prepare(m, dx, dg, f32(DY - 64, Shape.of(100)), dy, x, g, false));
            assertFalse(fits instanceof IllegalArgumentException, fits.toString());
        }
    }

    private static Tensor f32(long base, Shape s) { return new Tensor(base, 0, s, F32); }

    private static void refused(String expected, Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
