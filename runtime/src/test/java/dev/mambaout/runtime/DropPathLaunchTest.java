package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.kernels.DropPathKernels;
import dev.mambaout.kernels.LaunchGeometry;
import dev.mambaout.runtime.launch.DropPathLaunch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static dev.mambaout.graph.DType.BF16;
import static dev.mambaout.graph.DType.F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DropPathLaunch's refusals before any module is loaded (the fake driver has none), and the family's geometry. */
class DropPathLaunchTest {

    private static final long OUT = 0x10000, SC = 0x20000, X = 0x30000, G = 0x40000, H = 0x50000, DY = 0x60000;
    private static final Shape SHAPE = Shape.nhwc(2, 3, 3, 8);

    @Test
    void aRowOfBlocksPerSample() {
        assertEquals(new LaunchGeometry(1, 2, 1, 256, 1, 1, 0), DropPathKernels.geometry(2, 72));
        assertEquals(new LaunchGeometry(1, 7, 1, 256, 1, 1, 0), DropPathKernels.geometry(7, 1024));
        assertEquals(new LaunchGeometry(147, 128, 1, 256, 1, 1, 0), DropPathKernels.geometry(128, 56 * 56 * 48));
        refused("samples must lie in [1, 65535], was 65536", () -> DropPathKernels.geometry(65_536, 1));
        refused("below 2^31 in all", () -> DropPathKernels.geometry(1 << 10, 1 << 21));
        refused("must be positive", () -> DropPathKernels.geometry(3, 0));
    }

    @Test
    void forwardRefusalsNameTheKernelAndTheTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor out = f32(OUT, SHAPE), sc = f32(SC, SHAPE), x = new Tensor(X, 0, SHAPE, BF16), g = f32(G, Shape.of(8));
            Tensor h = hyper(H);
            String k = "droppath_residual_forward_bf16: ";
            refused("modules, out, shortcut, x and hyper are required",
                    () -> DropPathLaunch.prepareForward(m, out, sc, x, g, null, 1, 0, 0.1));
            refused("droppath forward: x must be F32 or BF16, was I32",
                    () -> DropPathLaunch.prepareForward(m, out, sc, new Tensor(X, 0, SHAPE, DType.I32), g, h, 1, 0, 0.1));
            refused(k + "shortcut must be F32 [2, 3, 3, 8] like x, was BF16",
                    () -> DropPathLaunch.prepareForward(m, out, new Tensor(SC, 0, SHAPE, BF16), x, g, h, 1, 0, 0.1));
            refused(k + "out must be F32 [2, 3, 3, 8] like x, was F32 [18, 8]",
                    () -> DropPathLaunch.prepareForward(m, f32(OUT, Shape.of(18, 8)), sc, x, g, h, 1, 0, 0.1));
            refused(k + "gamma must be F32 [8], was F32 [9]",
                    () -> DropPathLaunch.prepareForward(m, out, sc, x, f32(G, Shape.of(9)), h, 1, 0, 0.1));
            refused(k + "hyper must be F64 with at least 8 elements",
                    () -> DropPathLaunch.prepareForward(m, out, sc, x, g, new Tensor(H, 0, Shape.of(4), DType.F64), 1, 0, 0.1));
            refused(k + "out overlaps shortcut without being it",
                    () -> DropPathLaunch.prepareForward(m, new Tensor(SC, 4, SHAPE, F32), sc, x, g, h, 1, 0, 0.1));
            refused(k + "out overlaps an input", () -> DropPathLaunch.prepareForward(m, f32(H - 8, SHAPE), sc, x, g, h, 1, 0, 0.1));
            refused(k + "block must be >= 0", () -> DropPathLaunch.prepareForward(m, out, sc, x, g, h, 1, -1, 0.1));
            refused("drop-path rate must lie in [0, 1), got 1.0", () -> DropPathLaunch.prepareForward(m, out, sc, x, g, h, 1, 0, 1.0));
            refused("the branch must be [N, ..., C]",
                    () -> DropPathLaunch.prepareForward(m, f32(OUT, Shape.of(8)), f32(SC, Shape.of(8)), f32(X, Shape.of(8)), null, h, 1, 0, 0.1));
            // In place and without gamma pass the checks and only then need the module, which the fake cannot load.
            RuntimeException inPlace = assertThrows(RuntimeException.class,
                    () -> DropPathLaunch.prepareForward(m, sc, sc, x, null, h, 1, 0, 0.1));
            assertFalse(inPlace instanceof IllegalArgumentException, inPlace.toString());
        }
    }

    @Test
    void backwardRefusalsNameTheKernelAndTheTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor dx = new Tensor(OUT, 0, SHAPE, BF16), dy = f32(DY, SHAPE), h = hyper(H);
            String k = "droppath_backward_bf16: ";
            refused("modules, dx, dy and hyper are required", () -> DropPathLaunch.prepareBackward(m, dx, null, h, 1, 0, 0.5));
            refused(k + "dy must be F32 [2, 3, 3, 8] like dx (the residual stream's gradient), was BF16",
                    () -> DropPathLaunch.prepareBackward(m, dx, new Tensor(DY, 0, SHAPE, BF16), h, 1, 0, 0.5));
            refused(k + "dx overlaps an input", () -> DropPathLaunch.prepareBackward(m, new Tensor(DY, 2, SHAPE, BF16), dy, h, 1, 0, 0.5));
            refused("droppath_backward_f32: hyper must be F64",
                    () -> DropPathLaunch.prepareBackward(m, f32(OUT, SHAPE), dy, f32(H, Shape.of(16)), 1, 0, 0.5));
            RuntimeException ok = assertThrows(RuntimeException.class, () -> DropPathLaunch.prepareBackward(m, dx, dy, h, 1, 0, 0.5));
            assertFalse(ok instanceof IllegalArgumentException, ok.toString());
        }
    }

    private static Tensor hyper(long base) { return new Tensor(base, 0, Shape.of(AdamWKernels.HYPER_DOUBLES), DType.F64); }

    private static Tensor f32(long base, Shape s) { return new Tensor(base, 0, s, F32); }

    private static void refused(String expected, Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
