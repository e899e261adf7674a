package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.runtime.launch.ActBackwardLaunch;
import dev.mambaout.runtime.launch.CastLaunch;
import dev.mambaout.runtime.launch.Col2imLaunch;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Col2imLaunch, ActBackwardLaunch and CastLaunch refuse wrong views before any module is loaded (the fake has none). */
class ConvActBackwardLaunchTest {

    private static final long A = 0x100000, B = 0x800000, C = 0x1000000;

    @Test
    void col2imNamesTheWrongTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            // stem conv2 at batch 2: dx [2,112,112,24], dcol [2*56*56, 216]
            Tensor dx = new Tensor(A, 0, Shape.nhwc(2, 112, 112, 24), DType.F32);
            Tensor dcol = new Tensor(C, 0, Shape.of(2 * 56 * 56, 216), DType.BF16);
            refused("col2im_nhwc: dx [N,H,W,C] must have rank 4, was [2, 12544, 24]", () -> Col2imLaunch.prepareNhwc(m,
                    dx.reshape(Shape.of(2, 112 * 112, 24)), dcol, 3, 2, 1, false));
            refused("col2im_nhwc: F32 dcol into BF16 dx is not a variant", () -> Col2imLaunch.prepareNhwc(m,
                    new Tensor(A, 0, Shape.nhwc(2, 112, 112, 24), DType.BF16),
                    new Tensor(C, 0, Shape.of(2 * 56 * 56, 216), DType.F32), 3, 2, 1, false));
            refused("col2im_nhwc: dcol must be F32 or BF16, was I32", () -> Col2imLaunch.prepareNhwc(m, dx,
                    new Tensor(C, 0, Shape.of(2 * 56 * 56, 216), DType.I32), 3, 2, 1, false));
            refused("col2im_nhwc: dcol must be [6272, >= 216] (N*Ho*Wo, k*k*C; colStride 216) for dx [2, 112, 112, 24], "
                    + "was [6272, 215]", () -> Col2imLaunch.prepareNhwc(m, dx,
                    new Tensor(C, 0, Shape.of(2 * 56 * 56, 215), DType.BF16), 3, 2, 1, false));
            refused("col2im_nhwc: dcol must be [6272, >= 216]", () -> Col2imLaunch.prepareNhwc(m, dx,
                    new Tensor(C, 0, Shape.of(6273, 216), DType.BF16), 3, 2, 1, false));
            refused("col2im_nhwc: dx [2, 3, 3, 24] with kernel 5, stride 1, padding 0: padded input 3", () -> Col2imLaunch
                    .prepareNhwc(m, new Tensor(A, 0, Shape.nhwc(2, 3, 3, 24), DType.F32), dcol, 5, 1, 0, false)
                    .close());
            refused("col2im_nhwc: dx overlaps dcol", () -> Col2imLaunch.prepareNhwc(m, dx,
                    new Tensor(A, 64, Shape.of(2 * 56 * 56, 216), DType.BF16), 3, 2, 1, false));
            refused("col2im_nhwc: ", () -> Col2imLaunch.prepareNhwc(m,
                    new Tensor(A, 0, Shape.nhwc(8192, 112, 112, 24), DType.F32),
                    new Tensor(C, 0, Shape.of(8192 * 56 * 56, 216), DType.BF16), 3, 2, 1, false));
        }
    }

    @Test
    void actBackwardNamesTheWrongTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor x = new Tensor(A, 0, Shape.of(4, 100), DType.BF16), dy = new Tensor(B, 0, Shape.of(4, 100), DType.BF16);
            Tensor dx = new Tensor(C, 0, Shape.of(4, 100), DType.BF16);
            refused("act_backward: x must be F32 or BF16, was I32", () -> ActBackwardLaunch.prepare(m, dx,
                    new Tensor(A, 0, Shape.of(4, 100), DType.I32), dy, Activation.GELU));
            refused("act_backward: dy must be BF16, was F32", () -> ActBackwardLaunch.prepare(m, dx, x,
                    new Tensor(B, 0, Shape.of(4, 100), DType.F32), Activation.GELU));
            refused("act_backward: dx must be BF16, was F32", () -> ActBackwardLaunch.prepare(m,
                    new Tensor(C, 0, Shape.of(4, 100), DType.F32), x, dy, Activation.GELU));
            refused("act_backward: dy [4, 99] and dx [4, 100] must have x's shape [4, 100]", () -> ActBackwardLaunch
                    .prepare(m, dx, x, new Tensor(B, 0, Shape.of(4, 99), DType.BF16), Activation.SILU));
            refused("act_backward: dx partly overlaps dy", () -> ActBackwardLaunch.prepare(m,
                    new Tensor(B, 2, Shape.of(4, 100), DType.BF16), x, dy, Activation.GELU));
            refused("act_backward: dx partly overlaps x", () -> ActBackwardLaunch.prepare(m,
                    new Tensor(A, 64, Shape.of(4, 100), DType.BF16), x, dy, Activation.GELU));
            refused("act_backward: modules, dx, x, dy and the activation are required",
                    () -> ActBackwardLaunch.prepare(m, dx, x, dy, null));
        }
    }

    @Test
    void castNamesTheWrongTensor() {
        try (Device dev = Device.open(new FakeDriver(), 0)) {
            KernelModules m = dev.modules();
            Tensor x = new Tensor(A, 0, Shape.of(1000), DType.F32);
            refused("cast: x and out are both F32", () -> CastLaunch.prepare(m, new Tensor(B, 0, Shape.of(1000), DType.F32), x));
            refused("cast: out [999] must have x's shape [1000]", () -> CastLaunch.prepare(m,
                    new Tensor(B, 0, Shape.of(999), DType.BF16), x));
            refused("cast: out must be F32 or BF16, was I32", () -> CastLaunch.prepare(m,
                    new Tensor(B, 0, Shape.of(1000), DType.I32), x));
            refused("cast: out overlaps x", () -> CastLaunch.prepare(m, new Tensor(A, 0, Shape.of(1000), DType.BF16), x));
        }
    }

    private static void refused(String expected, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
