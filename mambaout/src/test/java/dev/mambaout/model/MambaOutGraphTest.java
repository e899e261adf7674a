package dev.mambaout.model;

import dev.mambaout.graph.Graph;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.ops.Act;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.graph.ops.GatedDwConv;
import dev.mambaout.graph.ops.LayerScale;
import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaOutGraphTest {

    private static Shape shape(List<Integer> dims) {
        return Shape.of(dims.stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void parametersAreTheSpecForEveryVariant() {
        for (MambaOutConfig c : MambaOutConfig.VARIANTS) {
            Graph g = MambaOutGraph.inference(c, 1, 224, 224).graph();
            List<ParameterSpec.Param> spec = ParameterSpec.of(c).params();
            assertEquals(spec.stream().map(ParameterSpec.Param::name).toList(),
                    g.parameters().stream().map(Tensor::name).toList(), c.name());
            for (ParameterSpec.Param p : spec) assertEquals(shape(p.shape()), g.tensor(p.name()).shape(), p.name());
            assertEquals(ParameterSpec.of(c).count(), g.parameters().stream().mapToLong(Tensor::numel).sum());
        }
    }

    /** k3 s2 p1 maps n to floor((n - 1) / 2) + 1; written out by hand for 65 x 33. */
    @Test
    void oddImageSizesGiveTimmsFeatureShapes() {
        MambaOutGraph m = MambaOutGraph.build(Fixtures.MINI, 3, 65, 33, MambaOutGraph.Mode.INFERENCE,
                MambaOutGraph.Options.DEFAULT.withFeatures(true));
        // 65 -> 33 -> 17 (stem) -> 9 -> 5 -> 3;  33 -> 17 -> 9 (stem) -> 5 -> 3 -> 2
        assertEquals(Shape.of(3, 3, 65, 33), m.input().shape());
        assertEquals(Shape.of(3, 17, 9, 16), m.output("stem").shape());
        assertEquals(Shape.of(3, 17, 9, 16), m.output("stage0").shape());
        assertEquals(Shape.of(3, 9, 5, 32), m.output("stage1").shape());
        assertEquals(Shape.of(3, 5, 3, 48), m.output("stage2").shape());
        assertEquals(Shape.of(3, 3, 2, 64), m.output("stage3").shape());
        assertEquals(Shape.of(3, 10), m.logits().shape());
        assertEquals(List.of("stem", "stage0", "stage1", "stage2", "stage3"), List.copyOf(m.features().keySet()));
        assertTrue(m.graph().outputs().containsAll(m.features().values()));
        MambaOutGraph tiny = MambaOutGraph.inference(Fixtures.MINI, 1, 1, 1);
        assertEquals(Shape.of(1, 10), tiny.logits().shape());
    }

    /** timm passes no act_layer to either head, so a SiLU model still has exactly one GELU: the head's. */
    @Test
    void headActivationIsAlwaysGelu() {
        Graph g = MambaOutGraph.inference(Fixtures.MINI_RW, 1, 32, 32).graph();
        Map<Activation, Long> acts = g.ops().stream().filter(o -> o instanceof Act)
                .collect(Collectors.groupingBy(o -> ((Act) o).fn(), Collectors.counting()));
        assertEquals(Map.of(Activation.SILU, 1L, Activation.GELU, 1L), acts);
        assertTrue(g.ops().stream().filter(o -> o instanceof GatedDwConv).allMatch(o -> ((GatedDwConv) o).act() == Activation.SILU));
        assertEquals(Fixtures.MINI_RW.totalBlocks(), g.ops().stream().filter(o -> o instanceof LayerScale).count());
        Graph official = MambaOutGraph.inference(Fixtures.MINI, 1, 32, 32).graph();
        assertEquals(2, official.ops().stream().filter(o -> o instanceof Act a && a.fn() == Activation.GELU).count());
        assertEquals(0, official.ops().stream().filter(o -> o instanceof LayerScale).count());
    }

    @Test
    void trainingGraphHasLossAndEveryGradient() {
        MambaOutGraph m = MambaOutGraph.training(Fixtures.MINI_RW, 2, 37, 41);
        assertEquals(1, m.loss().numel());
        assertEquals(Shape.of(2), m.labels().shape());
        assertEquals(DType.I32, m.labels().dtype());
        assertEquals(m.input().shape(), m.gradient(MambaOutGraph.INPUT).shape());
        for (ParameterSpec.Param p : m.spec().params()) {
            assertEquals(shape(p.shape()), m.gradient(p.name()).shape(), p.name());
            assertTrue(m.graph().outputs().contains(m.gradient(p.name())), p.name());
        }
        assertTrue(m.graph().outputs().contains(m.loss()) && m.graph().outputs().contains(m.logits()));
    }

    @Test
    void misuseIsRefusedWithAReason() {
        MambaOutGraph inf = MambaOutGraph.inference(Fixtures.MINI, 1, 32, 32);
        IllegalStateException e = assertThrows(IllegalStateException.class, inf::loss);
        assertTrue(e.getMessage().contains("only in a training graph") && e.getMessage().contains("INFERENCE"), e.getMessage());
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> inf.output("stage0"));
        assertTrue(a.getMessage().contains("withFeatures"), a.getMessage());
        a = assertThrows(IllegalArgumentException.class, () -> MambaOutGraph.inference(Fixtures.MINI, 0, 32, 32));
        assertTrue(a.getMessage().contains("batch must be >= 1, got 0"), a.getMessage());
        a = assertThrows(IllegalArgumentException.class, () -> MambaOutGraph.inference(Fixtures.MINI, 1, 0, 32));
        assertTrue(a.getMessage().contains("image size must be positive, got 0x32"), a.getMessage());
        a = assertThrows(IllegalArgumentException.class, () -> MambaOutGraph.Options.DEFAULT.withFloatType(DType.I32));
        assertTrue(a.getMessage().contains("floatType must be floating point, got I32"), a.getMessage());
    }

    /**
     * The planner's arena must hold at least the largest tensor that is live with its operand (stage 0's fc1 output
     * and the LayerNorm output it came from) and never more than all tensors side by side; training keeps forward
     * activations for the backward pass, so it needs more.
     */
    @Test
    void peakActivationBytesIsBoundedByHandCountedSizes() {
        MambaOutConfig c = Fixtures.MINI;
        MambaOutGraph inf = MambaOutGraph.inference(c, 4, 64, 64);
        long tokens = 4L * 16 * 16;
        long fc1 = tokens * 2 * c.hidden(0) * 4;
        long norm = tokens * c.dim(0) * 4;
        long peak = inf.peakActivationBytes();
        assertTrue(peak >= fc1 + norm, "peak " + peak + " < fc1 output + its input " + (fc1 + norm));
        long all = inf.graph().tensors().stream().filter(t -> t.role() != Tensor.Role.PARAMETER)
                .mapToLong(t -> (t.numel() * 4 + 255) / 256 * 256).sum();
        assertTrue(peak <= all, "peak " + peak + " > every tensor side by side " + all);
        long train = MambaOutGraph.training(c, 4, 64, 64).peakActivationBytes();
        assertTrue(train > peak, "training " + train + " vs inference " + peak);
        MambaOutGraph f64 = MambaOutGraph.build(c, 4, 64, 64, MambaOutGraph.Mode.INFERENCE,
                MambaOutGraph.Options.DEFAULT.withFloatType(DType.F64));
        assertTrue(f64.peakActivationBytes() > peak, "F64 elements are twice as large");
    }
}
