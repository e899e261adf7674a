package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.runtime.launch.LayerNormLaunch;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LayerNormLaunch refuses wrong views before any module is loaded (the fake driver has none). */
class LayerNormLaunchTest {

    private static final long X = 0x10000, OUT = 0x20000, W = 0x30000, B = 0x30100, STATS = 0x40000;

    @Test
    void wrongShapesAndDtypesAreNamedWithTheKernel() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Shape shape = Shape.nhwc(2, 3, 3, 8);
            Tensor x = new Tensor(X, 0, shape, DType.BF16), out = new Tensor(OUT, 0, shape, DType.BF16);
            Tensor w = new Tensor(W, 0, Shape.of(8), DType.F32), b = new Tensor(B, 0, Shape.of(8), DType.F32);
            Tensor stats = new Tensor(STATS, 0, Shape.of(18), DType.F32);

            refused("x must be F32 or BF16, was I32",
                    () -> LayerNormLaunch.prepareForward(m, out, null, null, new Tensor(X, 0, shape, DType.I32), w, b, 1e-5));
            refused("layernorm_forward_bf16: out must be BF16 [2, 3, 3, 8] for x, was F32 [2, 3, 3, 8]",
                    () -> LayerNormLaunch.prepareForward(m, new Tensor(OUT, 0, shape, DType.F32), null, null, x, w, b, 1e-5));
            refused("layernorm_forward_bf16: out overlaps x",
                    () -> LayerNormLaunch.prepareForward(m, new Tensor(X, 32, shape, DType.BF16), null, null, x, w, b, 1e-5));
            refused("layernorm_forward_bf16: weight must be F32 [8], was BF16 [8]",
                    () -> LayerNormLaunch.prepareForward(m, out, null, null, x, new Tensor(W, 0, Shape.of(8), DType.BF16), b, 1e-5));
            refused("layernorm_forward_bf16: bias must be F32 [8], was F32 [9]",
                    () -> LayerNormLaunch.prepareForward(m, out, null, null, x, w, new Tensor(B, 0, Shape.of(9), DType.F32), 1e-5));
            refused("layernorm_forward_bf16: rstd must be F32 with one value per token (18), was F32 [17]",
                    () -> LayerNormLaunch.prepareForward(m, out, stats, new Tensor(STATS, 0, Shape.of(17), DType.F32), x, w, b, 1e-5));
            refused("layernorm_forward: eps must be positive",
                    () -> LayerNormLaunch.prepareForward(m, new Tensor(OUT, 0, shape, DType.F32), stats, stats,
                            new Tensor(X, 0, shape, DType.F32), w, b, 0));
        }
    }

    private static void refused(String expected, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
