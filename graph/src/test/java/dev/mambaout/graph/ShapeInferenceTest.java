package dev.mambaout.graph;

import dev.mambaout.graph.ops.Activation;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapeInferenceTest {
    private final GraphBuilder g = new GraphBuilder(DType.F32);

    @Test
    void convOutputSizeFollowsFloorFormula() {
        Tensor x = g.input("x", 2, 7, 9, 3);
        Tensor y = g.conv2d(x, g.parameter("w", 5, 3, 3, 3), g.parameter("b", 5), 2, 1);
        assertArrayEquals(new int[]{2, 4, 5, 5}, y.shape().dims()); // floor((7+2-3)/2)+1 = 4, floor((9+2-3)/2)+1 = 5
        Tensor z = g.conv2d(y, g.parameter("w2", 4, 5, 5, 5), g.parameter("b2", 4), 3, 2);
        assertArrayEquals(new int[]{2, 2, 2, 4}, z.shape().dims()); // floor((4+4-5)/3)+1 = 2
    }

    @Test
    void eachOpInfersItsShape() {
        Tensor x = g.input("x", 2, 3, 11, 13);
        Tensor h = g.nchwToNhwc(x);
        assertEquals(Shape.of(2, 11, 13, 3), h.shape());
        Tensor f = g.linear(h, g.parameter("fc.w", 14, 3), g.parameter("fc.b", 14));
        assertEquals(Shape.of(2, 11, 13, 14), f.shape());
        Tensor gd = g.gatedDwConv(f, g.parameter("dw.w", 5, 1, 7, 7), g.parameter("dw.b", 5), Activation.GELU);
        assertEquals(Shape.of(2, 11, 13, 7), gd.shape());
        Tensor m = g.meanHW(gd);
        assertEquals(Shape.of(2, 7), m.shape());
        Tensor ln = g.layerNorm(m, g.parameter("ln.w", 7), g.parameter("ln.b", 7), 1e-6);
        assertEquals(m.shape(), ln.shape());
        Tensor loss = g.crossEntropy(ln, g.labels("y", 2), 0.1);
        assertEquals(0, loss.shape().rank());
        assertEquals(1, loss.numel());
    }

    @Test
    void wrongShapesNameTheOpAndTheShapes() {
        Tensor x = g.input("x", 2, 8, 8, 3);
        ShapeException e = assertThrows(ShapeException.class,
                () -> g.conv2d(x, g.parameter("w", 5, 4, 3, 3), g.parameter("b", 5), 2, 1));
        assertTrue(e.getMessage().startsWith("Conv2d"), e.getMessage());
        assertTrue(e.getMessage().contains("[2, 8, 8, 3]") && e.getMessage().contains("[5, 4, 3, 3]"), e.getMessage());

        ShapeException l = assertThrows(ShapeException.class, () -> g.linear(x, g.parameter("lw", 4, 5), g.parameter("lb", 4)));
        assertTrue(l.getMessage().startsWith("Linear") && l.getMessage().contains("[4, 5]"), l.getMessage());

        ShapeException n = assertThrows(ShapeException.class, () -> g.layerNorm(x, g.parameter("nw", 4), g.parameter("nb", 4), 1e-6));
        assertTrue(n.getMessage().startsWith("LayerNorm") && n.getMessage().contains("[4]"), n.getMessage());

        Tensor odd = g.input("odd", 2, 4, 4, 7);
        ShapeException gd = assertThrows(ShapeException.class,
                () -> g.gatedDwConv(odd, g.parameter("dw", 3, 1, 3, 3), g.parameter("db", 3), Activation.SILU));
        assertTrue(gd.getMessage().startsWith("GatedDwConv") && gd.getMessage().contains("[2, 4, 4, 7]"), gd.getMessage());

        Tensor wide = g.input("wide", 2, 4, 4, 8);
        ShapeException cc = assertThrows(ShapeException.class,
                () -> g.gatedDwConv(wide, g.parameter("dw2", 5, 1, 3, 3), g.parameter("db2", 5), Activation.SILU));
        assertTrue(cc.getMessage().contains("conv channels 5") && cc.getMessage().contains("hidden 4"), cc.getMessage());

        ShapeException a = assertThrows(ShapeException.class, () -> g.add(x, wide));
        assertTrue(a.getMessage().startsWith("Add") && a.getMessage().contains("[2, 4, 4, 8]"), a.getMessage());

        Tensor logits = g.input("logits", 3, 10);
        ShapeException ce = assertThrows(ShapeException.class, () -> g.crossEntropy(logits, g.labels("lab", 2), 0.0));
        assertTrue(ce.getMessage().startsWith("CrossEntropy") && ce.getMessage().contains("[3, 10]"), ce.getMessage());

        ShapeException tooSmall = assertThrows(ShapeException.class,
                () -> g.conv2d(g.input("tiny", 1, 1, 1, 3), g.parameter("w5", 2, 3, 5, 5), g.parameter("b5", 2), 1, 0));
        assertTrue(tooSmall.getMessage().contains("smaller than the kernel"), tooSmall.getMessage());
    }

    @Test
    void foreignTensorsAndDuplicateNamesAreRejected() {
        Tensor own = g.input("x", 2, 3);
        Tensor foreign = new GraphBuilder(DType.F32).input("other", 2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.add(own, foreign));
        assertTrue(e.getMessage().contains("does not belong"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.parameter("x", 3));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 0));
    }
}
