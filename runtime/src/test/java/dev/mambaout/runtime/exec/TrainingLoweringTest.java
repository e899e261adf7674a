package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.ops.Activation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training lowering on the CPU: which steps it makes, how it places them, what it refuses. No GPU is touched. */
class TrainingLoweringTest {

    static java.util.stream.Stream<Arguments> structures() {
        List<Arguments> out = new ArrayList<>();
        TrainingNets.Spec s = TrainingNets.small();
        for (Precision p : new Precision[] {Precision.F32, Precision.BF16}) {
            out.add(Arguments.of(p, s));
            out.add(Arguments.of(p, new TrainingNets.Spec(2, 1, 32, 32, new int[] {16, 24, 32}, new int[] {2, 1, 1}, 5, 0.5, Activation.SILU,
                    true, false, false, 10, 0.0)));
        }
        return out.stream();
    }

    private static TrainingLowering.Result lower(TrainingNets.Net n, Precision p) {
        return TrainingLowering.lower(n.training(), n.logits(), p, 132, TrainingNets::decays);
    }

    @ParameterizedTest
    @MethodSource("structures")
    void lowersAWholeTrainingStepThatThePlannerCanPlace(Precision p, TrainingNets.Spec spec) {
        TrainingNets.Net n = TrainingNets.build(spec);
        TrainingLowering.Result r = lower(n, p);
        List<Lowering.Step> steps = r.program().steps();
        // place() throws when a step reads a buffer no earlier step wrote, or a buffer is never written.
        var placement = GpuProgram.place(r.program());
        assertTrue(placement.peakBytes() > 0);
        assertEquals("adamw_step", steps.getLast().kernel(), "the update is the step's last launch");

        List<String> names = n.training().graph().tensors().stream().filter(t -> t.role() == Tensor.Role.PARAMETER)
                .map(Tensor::name).toList();
        assertEquals(names, r.params().stream().map(TrainingLowering.Param::name).toList(), "every parameter is trained");
        Set<String> keys = r.program().weights().stream().map(Lowering.Weight::key).collect(Collectors.toSet());
        for (String name : names) {
            assertTrue(keys.contains(TrainingLowering.GRAD + name), "a step writes the gradient of " + name);
        }
        if (p == Precision.BF16) {
            assertTrue(keys.contains(TrainingLowering.FLAT_BF16), "bf16 programs multiply with AdamW's bf16 copy");
            assertTrue(keys.stream().anyMatch(k -> k.startsWith(TrainingLowering.BF16)));
        } else {
            assertFalse(keys.stream().anyMatch(k -> k.startsWith(TrainingLowering.BF16)), "f32 programs have no bf16 copy");
        }

        // The image's gradient is not wanted: the stem's first conv has no input-gradient GEMM and col2im.
        int convs = 2 + (spec.dims().length - 1);
        long col2im = steps.stream().filter(s -> s.kernel().startsWith("col2im")).count();
        assertEquals(convs - 1, col2im, "col2im for every convolution but the stem's first");
        assertEquals(1, steps.stream().filter(s -> s.kernel().startsWith("cross_entropy")).count(),
                "cross-entropy forward and backward as one step");
        // Weight gradients at most 64 wide on both sides (in the models, the stem's first conv: d0 / 2 outputs, a
        // 9 x inChans im2col) take wgrad.cu; wider ones the GEMM. Kernel names read "<kernel> MxNxK [...]".
        for (Lowering.Step st : steps) {
            if (!st.name().endsWith(" dW")) continue;
            String[] mnk = st.kernel().split(" ")[1].split("x");
            boolean narrow = Integer.parseInt(mnk[0]) <= 64 && Integer.parseInt(mnk[1]) <= 64;
            assertEquals(narrow, st.kernel().startsWith("wgrad "), st.name() + " runs " + st.kernel());
            if (st.name().startsWith("stem.conv1.")) assertTrue(narrow, st.name() + " is narrow: " + st.kernel());
        }
        // The residual sums need no add pass: each block's LayerNorm backward adds into the shortcut's gradient.
        assertFalse(steps.stream().anyMatch(s -> s.kernel().contains("add")), "no separate add pass");

        List<Lowering.Buffer> in = r.program().inputs();
        assertEquals(List.of(DType.F32, DType.I32), in.stream().map(Lowering.Buffer::dtype).toList(), "image, labels");
        assertEquals(1, r.loss().shape().numel(), "the loss is one value");
        assertEquals(DType.F32, r.logits().dtype(), "logits are read back as float");
        // Parameters are laid out with the decaying ones first (AdamW decays [0, decayCount)).
        long decaying = r.params().stream().filter(TrainingLowering.Param::decays).mapToLong(TrainingLowering.Param::numel).sum();
        assertTrue(r.layout().decayCount() >= decaying && r.layout().decayCount() < decaying + 8L * r.params().size());
        Set<Long> offsets = new HashSet<>();
        for (TrainingLowering.Param q : r.params()) assertTrue(offsets.add(r.layout().offset(q.index())), "slices do not share an offset");

        // Each gradient is final after a backward step that writes gradients (data parallel reduces it from there).
        int crossEntropy = 0;
        while (!steps.get(crossEntropy).kernel().startsWith("cross_entropy")) crossEntropy++;
        int[] ready = r.gradientSteps();
        for (TrainingLowering.Param q : r.params()) {
            int at = ready[q.index()];
            assertTrue(at > crossEntropy && at < r.optimizerStep(), q.name() + " final after step " + at);
            String k = steps.get(at).kernel();
            assertTrue(k.startsWith("cublasLtMatmul") || k.startsWith("wgrad") || k.equals("layernorm_backward")
                    || k.equals("gated_dwconv_backward") || k.equals("layerscale_backward"), q.name() + " final after " + k);
        }
        // Its buckets: every gradient once; with the two regions of the layout (decayed, then not) each bucket holds
        // gradients that the backward finishes one after another.
        var plan = GradientAllReduce.buckets(r, dev.mambaout.runtime.dist.GradientBuckets.Caps.uniform(1L << 20));
        assertEquals(r.params().size(), plan.buckets().stream().mapToInt(b -> b.gradients().size()).sum());
        assertTrue(plan.buckets().size() <= 2 + r.params().size() / 4, plan.buckets().size() + " buckets for "
                + r.params().size() + " small gradients under a 1 MiB cap");
    }

    @Test
    void bf16ProgramsKeepTheResidualGradientInFloat() {
        TrainingLowering.Result r = lower(TrainingNets.build(TrainingNets.small()), Precision.BF16);
        // The stream's gradient is f32 (it is accumulated in place); the GEMMs multiply its bf16 cast.
        assertTrue(r.program().steps().stream().anyMatch(s -> s.kernel().equals("cast_f32_bf16")));
        int accumulating = 0;
        for (Lowering.Step s : r.program().steps()) {
            if (!s.kernel().equals("layernorm_backward") || !s.reads().contains(s.writes().get(0))) continue;
            assertEquals(DType.F32, s.writes().get(0).dtype(), s.name() + " adds into an f32 gradient");
            accumulating++;
        }
        assertEquals(3, accumulating, "one in-place sum per block (the small net has three)");
        // A cast's copy must be what its readers want: its source is not written again before the copy's last read.
        List<Lowering.Step> steps = r.program().steps();
        for (int i = 0; i < steps.size(); i++) {
            if (!steps.get(i).kernel().equals("cast_f32_bf16")) continue;
            Lowering.Buffer src = steps.get(i).reads().get(0), copy = steps.get(i).writes().get(0);
            int lastRead = i;
            for (int j = i + 1; j < steps.size(); j++) if (steps.get(j).reads().contains(copy)) lastRead = j;
            for (int j = i + 1; j < lastRead; j++) {
                assertFalse(steps.get(j).writes().contains(src), steps.get(j).name() + " changes " + src.name()
                        + " while its bf16 copy is still to be read (by step " + lastRead + ")");
            }
        }
    }

    @Test
    void lowersLayerScaleAsItsOwnKernelPair() {
        TrainingNets.Spec s = TrainingNets.small();
        TrainingNets.Net n = TrainingNets.build(new TrainingNets.Spec(s.batch(), s.inChans(), s.height(), s.width(), s.dims(), s.depths(),
                s.kernel(), s.convRatio(), s.act(), s.normFirst(), s.mlpHead(), true, s.classes(), s.smoothing()));
        for (Precision p : new Precision[] {Precision.F32, Precision.BF16}) {
            TrainingLowering.Result r = lower(n, p);
            GpuProgram.place(r.program());
            List<String> kernels = r.program().steps().stream().map(Lowering.Step::kernel).toList();
            assertEquals(3, kernels.stream().filter(k -> k.equals("layerscale_residual_forward")).count(), "one per block");
            assertEquals(3, kernels.stream().filter(k -> k.equals("layerscale_backward")).count());
            assertTrue(r.program().weights().stream().anyMatch(w -> w.key().equals(TrainingLowering.GRAD + "stages.1.blocks.1.ls.gamma")));
            assertFalse(r.params().stream().filter(q -> q.name().endsWith("ls.gamma")).anyMatch(TrainingLowering.Param::decays),
                    "LayerScale gammas get no weight decay");
        }
    }

    @Test
    void padsAGatedBlocksHiddenWidthToAMultipleOfEight() {
        // small(): dims 8, 12 -> hidden 21 (padded to 24) and 32 (already a multiple of 8).
        TrainingLowering.Result r = lower(TrainingNets.build(TrainingNets.small()), Precision.BF16);
        var byName = r.params().stream().collect(Collectors.toMap(TrainingLowering.Param::name, q -> q));
        TrainingLowering.Param fc1 = byName.get("stages.0.blocks.0.fc1.weight"), fc2 = byName.get("stages.0.blocks.0.fc2.weight");
        assertEquals(List.of(42, 8), List.of(fc1.torchShape().dim(0), fc1.torchShape().dim(1)));
        assertEquals(List.of(48, 8), List.of(fc1.stored().dim(0), fc1.stored().dim(1)), "fc1: 2 x 24 rows");
        assertEquals(48, byName.get("stages.0.blocks.0.fc1.bias").stored().numel());
        assertEquals(List.of(8, 24), List.of(fc2.stored().dim(0), fc2.stored().dim(1)), "fc2: 24 columns");
        assertEquals(TrainingLowering.Param.Layout.PLAIN, byName.get("stages.1.blocks.0.fc1.weight").layout(),
                "hidden 32 needs no pad");
        // Every gate reads and writes 16-byte rows in bf16: the forward and the backward, their buffers included.
        for (Lowering.Step st : r.program().steps()) {
            if (!st.kernel().startsWith("gated_dwconv")) continue;
            for (Lowering.Buffer b : st.reads()) if (b.shape().rank() == 4) assertEquals(0, b.shape().channels() % 8, st.name() + " reads " + b);
            for (Lowering.Buffer b : st.writes()) if (b.shape().rank() == 4) assertEquals(0, b.shape().channels() % 8, st.name() + " writes " + b);
        }
        // The zero rows and columns go where the product is zero: round trip through the stored layout keeps every value.
        float[] w = new float[42 * 8];
        for (int i = 0; i < w.length; i++) w[i] = i + 1;
        float[] stored = fc1.pack(w);
        int nonzero = 0;
        for (float v : stored) if (v != 0) nonzero++;
        assertEquals(w.length, nonzero, "6 rows of zeros added, no value lost");
    }

    @Test
    void paramLayoutsRoundTrip() {
        Random r = new Random(5);
        TrainingLowering.Result res = lower(TrainingNets.build(TrainingNets.small()), Precision.F32);
        Set<TrainingLowering.Param.Layout> seen = new HashSet<>();
        for (TrainingLowering.Param p : res.params()) {
            float[] torch = new float[Math.toIntExact(p.torchShape().numel())];
            for (int i = 0; i < torch.length; i++) torch[i] = (float) r.nextGaussian();
            float[] stored = p.pack(torch);
            assertEquals(p.stored().numel(), stored.length, p.name());
            assertArrayEquals(torch, p.unpack(stored), p.name());
            seen.add(p.layout());
        }
        assertEquals(Set.of(TrainingLowering.Param.Layout.values()), seen, "the net has every layout");
        TrainingLowering.Param conv = res.params().stream().filter(q -> q.layout() == TrainingLowering.Param.Layout.IM2COL)
                .findFirst().orElseThrow();
        assertThrows(IllegalArgumentException.class, () -> conv.pack(new float[3]));
    }
}
