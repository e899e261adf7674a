package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TensorTest {
    private static final long BASE = 0x7f00_0000_0000L;

    @Test
    void shapeArithmetic() {
        Shape s = Shape.nhwc(2, 3, 5, 7);
        assertEquals(210, s.numel());
        assertArrayEquals(new long[] {105, 35, 7, 1}, s.strides());
        assertEquals(30, s.tokens());
        assertEquals(7, s.channels());
        assertEquals(2, s.n());
        assertEquals(3, s.h());
        assertEquals(5, s.w());
        assertEquals(7, s.c());
        assertEquals(Shape.of(2, 3, 5, 7), s);
        assertEquals(Shape.of(2, 3, 5, 7).hashCode(), s.hashCode());
        assertNotEquals(Shape.of(2, 3, 7, 5), s);
        int[] d = {4, 4};
        Shape copy = new Shape(d);
        d[0] = 9;
        assertEquals(4, copy.dim(0), "the record keeps its own copy");
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 0));
        assertThrows(IllegalStateException.class, () -> Shape.of(6, 7).h());
        assertEquals(1, Shape.of().numel());
    }

    @Test
    void tensorViewsAddressTheRightBytes() {
        Tensor t = new Tensor(BASE, 512, Shape.nhwc(4, 2, 3, 5), DType.F32);
        assertEquals(BASE + 512, t.address());
        assertEquals(480, t.bytes());
        assertArrayEquals(new long[] {120, 60, 20, 4}, t.byteStrides());

        Tensor second = t.slice(1, 2);
        assertEquals(Shape.nhwc(2, 2, 3, 5), second.shape());
        assertEquals(BASE + 512 + 30 * 4, second.address());

        Tensor tokens = t.asTokens();
        assertEquals(Shape.of(24, 5), tokens.shape());
        assertEquals(t.address(), tokens.address());

        Tensor v = t.view(10, Shape.of(5));
        assertEquals(BASE + 512 + 40, v.address());
        assertEquals(t.address() + 119 * 4, t.view(119, Shape.of(1)).address());
        assertThrows(IndexOutOfBoundsException.class, () -> t.view(116, Shape.of(5)));
        assertThrows(IndexOutOfBoundsException.class, () -> t.slice(3, 2));
        var r = assertThrows(IllegalArgumentException.class, () -> t.reshape(Shape.of(7, 17)));
        assertEquals("cannot reshape [4, 2, 3, 5] (120 elements) to [7, 17] (119 elements)", r.getMessage());
    }

    @Test
    void elementAlignmentIsEnforced() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Tensor(BASE, 2, Shape.of(4), DType.F32));
        assertEquals("address 0x7f0000000002 is not aligned to F32's 4 bytes", e.getMessage());
        assertEquals(BASE + 2, new Tensor(BASE, 2, Shape.of(4), DType.BF16).address());
        assertThrows(IllegalArgumentException.class, () -> new Tensor(0, 0, Shape.of(1), DType.F32));
    }
}
