package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.launch.LayerNormBackwardLaunch;
import org.junit.jupiter.api.Test;

import static dev.mambaout.graph.DType.BF16;
import static dev.mambaout.graph.DType.F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LayerNormBackwardLaunch's kernel choice, and its refusals before any module is loaded (the fake driver has none). */
class LayerNormBackwardLaunchTest {

    private static final long DX = 0x10000, DW = 0x20000, DB = 0x20100, WS = 0x30000, DY = 0x40000, X = 0x50000,
            W = 0x60000, MEAN = 0x60100, RSTD = 0x60200;

    @Test
    void theKernelFollowsTheDtypes() {
        assertEquals(KernelCatalog.LAYERNORM_BACKWARD, LayerNormBackwardLaunch.kernel(F32, F32, F32, false));
        assertEquals(KernelCatalog.LAYERNORM_BACKWARD_F32_F32_F32_ACC, LayerNormBackwardLaunch.kernel(F32, F32, F32, true));
        assertEquals(KernelCatalog.LAYERNORM_BACKWARD_BF16_F32_F32_ACC, LayerNormBackwardLaunch.kernel(BF16, F32, F32, true));
        assertEquals(KernelCatalog.LAYERNORM_BACKWARD_BF16_F32_F32, LayerNormBackwardLaunch.kernel(BF16, F32, F32, false));
        assertEquals(KernelCatalog.LAYERNORM_BACKWARD_F32_F32_BF16, LayerNormBackwardLaunch.kernel(F32, F32, BF16, false));
        assertEquals(KernelCatalog.LAYERNORM_BACKWARD_BF16_F32_BF16, LayerNormBackwardLaunch.kernel(BF16, F32, BF16, false));
        assertEquals(KernelCatalog.LAYERNORM_BACKWARD_BF16_BF16_BF16, LayerNormBackwardLaunch.kernel(BF16, BF16, BF16, false));
        var acc = assertThrows(IllegalArgumentException.class, () -> LayerNormBackwardLaunch.kernel(BF16, BF16, BF16, true));
        assertTrue(acc.getMessage().contains("no kernel for dy BF16, x BF16, dx BF16 accumulated")
                && acc.getMessage().contains("accumulation needs an F32 dx"), acc.getMessage());
        var mixed = assertThrows(IllegalArgumentException.class, () -> LayerNormBackwardLaunch.kernel(F32, BF16, F32, false));
        assertTrue(mixed.getMessage().contains("no kernel for dy F32, x BF16, dx F32 written; supported"), mixed.getMessage());
    }

    @Test
    void theWorkspaceHoldsTwoPartialBuffers() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            Shape shape = Shape.nhwc(2, 3, 3, 8);  // 18 tokens: rows per block 8 (one per warp at least), 3 blocks
            assertEquals(8, LayerNormBackwardLaunch.rowsPerBlock(dev.modules(), shape));
            assertEquals(2 * 3 * 8, LayerNormBackwardLaunch.workspaceFloats(dev.modules(), shape));
            assertEquals(2 * 18 * 8, LayerNormBackwardLaunch.workspaceFloats(shape, 1));
        }
    }

    @Test
    void wrongViewsAreNamedWithTheKernel() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Shape shape = Shape.nhwc(2, 3, 3, 8);
            Tensor dx = new Tensor(DX, 0, shape, F32), dy = new Tensor(DY, 0, shape, BF16), x = new Tensor(X, 0, shape, F32);
            Tensor dw = new Tensor(DW, 0, Shape.of(8), F32), db = new Tensor(DB, 0, Shape.of(8), F32);
            Tensor ws = new Tensor(WS, 0, Shape.of(48), F32), w = new Tensor(W, 0, Shape.of(8), F32);
            Tensor mean = new Tensor(MEAN, 0, Shape.of(18), F32), rstd = new Tensor(RSTD, 0, Shape.of(18), F32);
            String k = "layernorm_backward_bf16_f32_f32_acc: ";

            refused("mean and rstd: the forward's statistics",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, ws, dy, x, w, null, rstd, true));
            refused("layernorm backward: x must be F32 or BF16, was I32",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, ws, dy, new Tensor(X, 0, shape, DType.I32), w,
                            mean, rstd, true));
            refused("accumulation needs an F32 dx",
                    () -> LayerNormBackwardLaunch.prepare(m, new Tensor(DX, 0, shape, BF16), dw, db, ws, dy, x, w, mean,
                            rstd, true));
            refused(k + "dy must be [2, 3, 3, 8] like x, was [2, 3, 3, 9]",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, ws, new Tensor(DY, 0, Shape.nhwc(2, 3, 3, 9), BF16),
                            x, w, mean, rstd, true));
            refused(k + "dx must be [2, 3, 3, 8] like x, was [18, 8]",
                    () -> LayerNormBackwardLaunch.prepare(m, new Tensor(DX, 0, Shape.of(18, 8), F32), dw, db, ws, dy, x,
                            w, mean, rstd, true));
            refused(k + "weight must be F32 [8], was BF16 [8]",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, ws, dy, x, new Tensor(W, 0, Shape.of(8), BF16),
                            mean, rstd, true));
            refused(k + "dBias must be F32 [8], was F32 [9]",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, new Tensor(DB, 0, Shape.of(9), F32), ws, dy, x, w,
                            mean, rstd, true));
            refused(k + "rstd must be F32 with one value per token (18",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, ws, dy, x, w, mean,
                            new Tensor(RSTD, 0, Shape.of(17), F32), true));
            refused(k + "workspace must be F32 with at least 48 elements (2 x 3 partial rows of 8",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, new Tensor(WS, 0, Shape.of(47), F32), dy, x, w,
                            mean, rstd, true));
            refused(k + "workspace must be F32 with at least 288 elements",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, ws, dy, x, w, mean, rstd, true, 1));
            refused(k + "rowsPerBlock must be positive",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, ws, dy, x, w, mean, rstd, true, -1));
            refused(k + "dx overlaps x; the kernels do not run in place",
                    () -> LayerNormBackwardLaunch.prepare(m, new Tensor(X, 64, shape, F32), dw, db, ws, dy, x, w, mean,
                            rstd, true));
            refused(k + "workspace overlaps dy",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, db, new Tensor(DY, 4, Shape.of(48), F32), dy, x, w,
                            mean, rstd, true));
            refused(k + "dWeight overlaps dBias",
                    () -> LayerNormBackwardLaunch.prepare(m, dx, dw, new Tensor(DW, 16, Shape.of(8), F32), ws, dy, x, w,
                            mean, rstd, true));
        }
    }

    private static void refused(String expected, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
