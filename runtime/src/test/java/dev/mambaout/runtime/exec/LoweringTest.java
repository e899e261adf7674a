package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.GraphBuilder;
import dev.mambaout.graph.MemoryPlanner;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.ops.Activation;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lowering's rewrites and the memory plan over lowered steps, on the CPU (no GPU is touched). */
class LoweringTest {

    /** A one-block MambaOut in miniature: stem conv from NCHW, block with LayerScale and residual, head. */
    private static Graph net(boolean layerScale) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("input", 2, 3, 17, 13);
        Tensor h = g.nchwToNhwc(x);
        h = g.conv2d(h, g.parameter("stem.w", 8, 3, 3, 3), g.parameter("stem.b", 8), 2, 1);
        h = g.layerNorm(h, g.parameter("stem.n.w", 8), g.parameter("stem.n.b", 8), 1e-6);
        Tensor t = g.layerNorm(h, g.parameter("norm.w", 8), g.parameter("norm.b", 8), 1e-6);
        t = g.linear(t, g.parameter("fc1.w", 42, 8), g.parameter("fc1.b", 42));
        t = g.gatedDwConv(t, g.parameter("conv.w", 5, 1, 7, 7), g.parameter("conv.b", 5), Activation.GELU);
        t = g.linear(t, g.parameter("fc2.w", 8, 21), g.parameter("fc2.b", 8));
        if (layerScale) t = g.layerScale(t, g.parameter("ls.gamma", 8));
        h = g.add(t, h);
        Tensor z = g.meanHW(h);
        z = g.layerNorm(z, g.parameter("head.n.w", 8), g.parameter("head.n.b", 8), 1e-6);
        z = g.gelu(g.linear(z, g.parameter("head.fc1.w", 16, 8), g.parameter("head.fc1.b", 16)));
        g.output(g.linear(z, g.parameter("head.fc.w", 4, 16), g.parameter("head.fc.b", 4)));
        return g.build();
    }

    @Test
    void fusesTheModelsPatternsIntoSteps() {
        Lowering.Result r = Lowering.lower(net(true), Precision.BF16);
        List<String> kernels = r.steps().stream().map(s -> s.kernel().split(" ")[0]).toList();
        assertEquals(List.of("im2col_nchw", "cublasLtMatmul", "layernorm_forward", "layernorm_forward", "cublasLtMatmul",
                "gated_dwconv_forward", "cublasLtMatmul", "mean_hw_layernorm", "cublasLtMatmul", "act_forward",
                "cublasLtMatmul"), kernels);
        // fc2's step reads the residual stream: the Add became the GEMM's C.
        Lowering.Step fc2 = r.steps().get(6);
        assertEquals(2, fc2.reads().size(), "fc2 reads its input and the shortcut");
        // bf16 programs keep the residual stream f32 (as PyTorch's autocast does); bf16 is what the GEMMs multiply.
        List<DType> written = r.steps().stream().map(st -> st.writes().get(0).dtype()).toList();
        assertEquals(List.of(DType.BF16, DType.F32, DType.F32, DType.BF16, DType.BF16, DType.BF16, DType.F32,
                DType.BF16, DType.BF16, DType.BF16, DType.F32), written,
                "col, stem conv (read by a LayerNorm), stem norm (the stream), block norm, fc1, gate, fc2 + shortcut"
                        + " (the stream), head norm, head fc1, act, logits");
        assertEquals(DType.F32, fc2.reads().get(1).dtype(), "the shortcut is read as f32");
        assertTrue(r.weights().stream().anyMatch(w -> w.key().equals("fc2.w:BF16*ls.gamma:padin24")),
                "LayerScale folded into fc2, whose K is the padded hidden width");
        assertTrue(r.weights().stream().anyMatch(w -> w.key().equals("conv.w:taps") && w.dtype() == DType.F32));
        assertTrue(r.weights().stream().anyMatch(w -> w.key().equals("stem.w:im2col") && w.shape().dim(1) == 32),
                "3x3x3 = 27 columns padded to 32");
        assertEquals(DType.F32, r.inputs().get(0).dtype(), "the user's batch stays float");
        assertEquals(DType.F32, r.outputs().get(0).dtype(), "logits are float in bf16 programs");
    }

    /**
     * The official structure's downsampling: a stage's last residual sum is read only by the strided conv, and the
     * next stage's first sum adds its shortcut to fc2 as cuBLASLt's C. In bf16 programs the sum must still be f32
     * (C and D share a type): a bf16 sum read its f32 shortcut as bf16 and gave NaN logits on the H200 (round 3).
     */
    @Test
    void residualSumsStayFloatInBf16ProgramsWhenOnlyAConvReadsThem() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("input", 2, 3, 16, 16);
        Tensor h = g.conv2d(g.nchwToNhwc(x), g.parameter("stem.w", 8, 3, 3, 3), g.parameter("stem.b", 8), 2, 1);
        h = g.layerNorm(h, g.parameter("stem.n.w", 8), g.parameter("stem.n.b", 8), 1e-6);
        h = g.add(g.linear(g.layerNorm(h, g.parameter("n0.w", 8), g.parameter("n0.b", 8), 1e-6),
                g.parameter("fc0.w", 8, 8), g.parameter("fc0.b", 8)), h);
        h = g.conv2d(h, g.parameter("down.w", 16, 8, 3, 3), g.parameter("down.b", 16), 2, 1);
        h = g.layerNorm(h, g.parameter("down.n.w", 16), g.parameter("down.n.b", 16), 1e-6);
        h = g.add(g.linear(g.layerNorm(h, g.parameter("n1.w", 16), g.parameter("n1.b", 16), 1e-6),
                g.parameter("fc1.w", 16, 16), g.parameter("fc1.b", 16)), h);
        Tensor z = g.layerNorm(g.meanHW(h), g.parameter("head.n.w", 16), g.parameter("head.n.b", 16), 1e-6);
        g.output(g.linear(z, g.parameter("head.fc.w", 4, 16), g.parameter("head.fc.b", 4)));
        Lowering.Result r = Lowering.lower(g.build(), Precision.BF16);
        List<Lowering.Step> sums = r.steps().stream().filter(st -> st.reads().size() == 2).toList();
        assertEquals(2, sums.size(), "two fused residual GEMMs");
        for (Lowering.Step st : sums) {
            assertEquals(DType.F32, st.reads().get(1).dtype(), st.name() + ": shortcut");
            assertEquals(DType.F32, st.writes().get(0).dtype(), st.name() + ": sum, read by cuBLASLt as C's type");
        }
        Lowering.Step downIm2col = r.steps().stream().filter(st -> st.reads().contains(sums.get(0).writes().get(0)))
                .findFirst().orElseThrow();
        assertEquals("im2col_nhwc", downIm2col.kernel(), "the downsampling conv gathers the f32 stream");
        assertEquals(DType.BF16, downIm2col.writes().get(0).dtype(), "into bf16 columns for the GEMM");
    }

    /**
     * One gated block at width {@code dim} (hidden 3 * dim / 2 + 1: not a multiple of 8); with {@code secondReader}, a
     * second Linear also reads the block's norm.
     */
    private static Graph block(int dim, boolean secondReader) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("input", 2, 3, 16, 16);
        Tensor h = g.conv2d(g.nchwToNhwc(x), g.parameter("stem.w", dim, 3, 3, 3), g.parameter("stem.b", dim), 2, 1);
        h = g.layerNorm(h, g.parameter("stem.n.w", dim), g.parameter("stem.n.b", dim), 1e-6);
        int hidden = 3 * dim / 2 + 1;
        Tensor n = g.layerNorm(h, g.parameter("norm.w", dim), g.parameter("norm.b", dim), 1e-6);
        Tensor t = g.linear(n, g.parameter("fc1.w", 2 * hidden, dim), g.parameter("fc1.b", 2 * hidden));
        t = g.gatedDwConv(t, g.parameter("conv.w", dim / 2, 1, 7, 7), g.parameter("conv.b", dim / 2), Activation.GELU);
        h = g.add(g.linear(t, g.parameter("fc2.w", dim, hidden), g.parameter("fc2.b", dim)), h);
        if (secondReader) h = g.add(g.linear(n, g.parameter("extra.w", dim, dim), g.parameter("extra.b", dim)), h);
        Tensor z = g.meanHW(h);
        z = g.layerNorm(z, g.parameter("head.n.w", dim), g.parameter("head.n.b", dim), 1e-6);
        g.output(g.linear(z, g.parameter("head.fc.w", 4, dim), g.parameter("head.fc.b", 4)));
        return g.build();
    }

    @Test
    void fusesANarrowBlocksLayerNormIntoFc1InBf16Only() {
        Lowering.Result r = Lowering.lower(block(48, false), Precision.BF16);
        List<String> kernels = r.steps().stream().map(s -> s.kernel().split(" ")[0]).toList();
        assertEquals(List.of("im2col_nchw", "cublasLtMatmul", "layernorm_forward", "ln_linear_forward",
                "gated_dwconv_forward", "cublasLtMatmul", "mean_hw_layernorm", "cublasLtMatmul"), kernels);
        Lowering.Step fused = r.steps().get(3);
        assertEquals(DType.F32, fused.reads().get(0).dtype(), "it reads the f32 stream");
        assertEquals(List.of(2, 8, 8, 2 * 80), List.of(fused.writes().get(0).shape().dims()[0],
                fused.writes().get(0).shape().dims()[1], fused.writes().get(0).shape().dims()[2],
                fused.writes().get(0).shape().dims()[3]), "fc1's output at the padded hidden width (73 -> 80)");
        assertTrue(r.weights().stream().anyMatch(w -> w.key().equals("fc1.w:BF16:pad80") && w.shape().dim(0) == 160));
        assertTrue(r.weights().stream().anyMatch(w -> w.key().equals("fc1.b:F32:pad80") && w.dtype() == DType.F32),
                "the kernel adds an f32 bias");
        assertTrue(r.buffers().values().stream().noneMatch(b -> b.dtype() == DType.BF16 && b.shape().rank() == 4
                        && b.shape().dims()[3] == 48),
                "the normalised rows (the only bf16 tensor 48 wide) have no buffer");

        List<String> f32 = Lowering.lower(block(48, false), Precision.F32).steps().stream().map(Lowering.Step::kernel).toList();
        assertTrue(f32.stream().noneMatch(k -> k.startsWith("ln_linear")), "f32 programs keep LayerNorm + GEMM: " + f32);
        List<String> wide = Lowering.lower(block(64, false), Precision.BF16).steps().stream().map(Lowering.Step::kernel).toList();
        assertTrue(wide.stream().noneMatch(k -> k.startsWith("ln_linear")), "no kernel for K = 64: " + wide);
        List<String> shared = Lowering.lower(block(48, true), Precision.BF16).steps().stream().map(Lowering.Step::kernel).toList();
        assertTrue(shared.stream().noneMatch(k -> k.startsWith("ln_linear")), "the norm's output has a second reader: " + shared);
    }

    @Test
    void foldsLayerScaleIntoTheWeightAndBias() {
        Lowering.Result r = Lowering.lower(net(true), Precision.F32);
        float[] w = new float[8 * 21], b = new float[8], gamma = new float[8];
        for (int i = 0; i < w.length; i++) w[i] = i * 0.5f;
        for (int i = 0; i < 8; i++) { b[i] = i; gamma[i] = 2f + i; }
        WeightSource src = name -> switch (name) {
            case "fc2.w" -> w;
            case "fc2.b" -> b;
            case "ls.gamma" -> gamma;
            default -> throw new IllegalArgumentException(name);
        };
        float[] fw = r.weights().stream().filter(x -> x.key().equals("fc2.w:F32*ls.gamma:padin24")).findFirst().orElseThrow().values().apply(src);
        float[] fb = r.weights().stream().filter(x -> x.key().equals("fc2.b:F32*ls.gamma")).findFirst().orElseThrow().values().apply(src);
        // hidden 21 = 16 gated by i + 5 by the conv, padded to 24: three zero columns after the first 16.
        for (int o = 0; o < 8; o++) {
            assertEquals(b[o] * gamma[o], fb[o]);
            for (int i = 0; i < 21; i++) assertEquals(w[o * 21 + i] * gamma[o], fw[o * 24 + (i < 16 ? i : i + 3)]);
            for (int i = 16; i < 19; i++) assertEquals(0f, fw[o * 24 + i]);
        }
        assertEquals(0.5f, w[1], "the source's array is not modified");
    }

    /**
     * hidden 21 (16 channels gated by i, 5 by the conv) is stored as 24: fc1's rows are g[0,16) 0 0 0 g[16,21)
     * i[0,16) 0 0 0 c[0,5), so cat(i, conv(c)) still splits where the gate's g expects it, and every padded gate
     * output is act(0) * 0.
     */
    @Test
    void padsTheHiddenWidthToAMultipleOfEightWithZeros() {
        Lowering.Result r = Lowering.lower(net(false), Precision.BF16);
        Lowering.Step fc1 = r.steps().get(4), gate = r.steps().get(5), fc2 = r.steps().get(6);
        assertEquals(48, fc1.writes().get(0).shape().dim(3), "fc1 writes 2 x 24 channels");
        assertEquals(24, gate.writes().get(0).shape().dim(3), "the gate writes 24");
        assertTrue(fc2.kernel().endsWith("x8x24"), "fc2 is rows x 8 x K = 24: " + fc2.kernel());
        float[] w = new float[42 * 8], bias = new float[42];
        for (int i = 0; i < w.length; i++) w[i] = 1 + i;
        for (int i = 0; i < 42; i++) bias[i] = 1 + i;
        WeightSource src = name -> switch (name) {
            case "fc1.w" -> w;
            case "fc1.b" -> bias;
            default -> throw new IllegalArgumentException(name);
        };
        float[] pw = r.weights().stream().filter(x -> x.key().equals("fc1.w:BF16:pad24")).findFirst().orElseThrow().values().apply(src);
        float[] pb = r.weights().stream().filter(x -> x.key().equals("fc1.b:BF16:pad24")).findFirst().orElseThrow().values().apply(src);
        assertEquals(48 * 8, pw.length);
        int[] to = new int[42];
        for (int row = 0; row < 42; row++) to[row] = row < 16 ? row : row < 37 ? row + 3 : row + 6;
        boolean[] real = new boolean[48];
        for (int row = 0; row < 42; row++) {
            real[to[row]] = true;
            assertEquals(bias[row], pb[to[row]]);
            for (int c = 0; c < 8; c++) assertEquals(w[row * 8 + c], pw[to[row] * 8 + c], "row " + row);
        }
        for (int row = 0; row < 48; row++) {
            if (real[row]) continue;
            assertEquals(0f, pb[row], "pad row " + row);
            for (int c = 0; c < 8; c++) assertEquals(0f, pw[row * 8 + c], "pad row " + row);
        }
    }

    @Test
    void tapMajorDepthwiseWeights() {
        Lowering.Result r = Lowering.lower(net(false), Precision.F32);
        float[] torch = new float[5 * 49];
        for (int i = 0; i < torch.length; i++) torch[i] = i;
        float[] taps = r.weights().stream().filter(x -> x.key().equals("conv.w:taps")).findFirst().orElseThrow()
                .values().apply(n -> torch);
        for (int c = 0; c < 5; c++) for (int q = 0; q < 49; q++) assertEquals(torch[c * 49 + q], taps[q * 5 + c]);
    }

    @Test
    void planKeepsLiveBuffersApart() {
        Lowering.Result r = Lowering.lower(net(true), Precision.BF16);
        MemoryPlanner.Placement p = GpuProgram.place(r);
        List<Lowering.Buffer> bufs = new ArrayList<>(r.buffers().values());
        int[][] life = new int[bufs.size()][];
        for (int i = 0; i < bufs.size(); i++) {
            int first = Integer.MAX_VALUE, last = -2;
            for (int s = 0; s < r.steps().size(); s++) {
                if (r.steps().get(s).writes().contains(bufs.get(i))) first = Math.min(first, s);
                if (r.steps().get(s).reads().contains(bufs.get(i))) last = Math.max(last, s);
            }
            if (r.inputs().contains(bufs.get(i))) first = -1;
            if (r.outputs().contains(bufs.get(i))) last = r.steps().size();
            life[i] = new int[] {first, Math.max(first, last)};
        }
        int overlaps = 0;
        for (int i = 0; i < bufs.size(); i++) {
            for (int j = i + 1; j < bufs.size(); j++) {
                boolean time = life[i][0] <= life[j][1] && life[j][0] <= life[i][1];
                boolean space = p.offsets()[i] < p.offsets()[j] + bufs.get(j).bytes() && p.offsets()[j] < p.offsets()[i] + bufs.get(i).bytes();
                if (time && space) overlaps++;
            }
        }
        assertEquals(0, overlaps, "buffers alive at the same step share no bytes");
        assertTrue(p.peakBytes() < p.totalBytes(), "memory is reused: peak " + p.peakBytes() + " < total " + p.totalBytes());
    }

    /** The official stem (conv -> LN -> GELU -> conv -> LN), or timm's `_rw` one without the middle LN. */
    private static Graph stem(int mid, boolean midNorm) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("input", 2, 3, 17, 13);
        Tensor h = g.conv2d(g.nchwToNhwc(x), g.parameter("stem.w", mid, 3, 3, 3), g.parameter("stem.b", mid), 2, 1);
        if (midNorm) h = g.layerNorm(h, g.parameter("stem.n.w", mid), g.parameter("stem.n.b", mid), 1e-6);
        h = g.gelu(h);
        h = g.conv2d(h, g.parameter("stem.w2", 16, mid, 3, 3), g.parameter("stem.b2", 16), 2, 1);
        g.output(g.layerNorm(h, g.parameter("stem.n2.w", 16), g.parameter("stem.n2.b", 16), 1e-6));
        return g.build();
    }

    @Test
    void fusesTheStemsFirstConvWithItsNormAndAct() {
        for (boolean midNorm : new boolean[] {true, false}) {
            Lowering.Result r = Lowering.lower(stem(24, midNorm), Precision.BF16);
            List<String> kernels = r.steps().stream().map(s -> s.kernel().split(" ")[0]).toList();
            assertEquals(List.of("stem_conv_forward", "im2col_nhwc", "cublasLtMatmul", "layernorm_forward"), kernels);
            Lowering.Step first = r.steps().get(0);
            assertEquals(List.of(r.inputs().get(0)), first.reads(), "reads the user's NCHW batch");
            assertEquals(DType.BF16, first.writes().get(0).dtype(), "writes the act's output, the next conv's operand");
            assertEquals(List.of(2, 9, 7, 24), List.of(first.writes().get(0).shape().dims()[0],
                    first.writes().get(0).shape().dims()[1], first.writes().get(0).shape().dims()[2],
                    first.writes().get(0).shape().dims()[3]));
            String key = midNorm ? "stem.w:stem+stem.n.w" : "stem.w:stem";
            assertTrue(r.weights().stream().anyMatch(w -> w.key().equals(key) && w.shape().numel() == (27 + 3) * 24),
                    "packed taps, bias, gamma, beta at width 24: " + r.weights().stream().map(Lowering.Weight::key).toList());
            assertTrue(r.buffers().values().stream().noneMatch(b -> b.name().contains("im2col") && b.shape().dim(1) == 32),
                    "no im2col of the NCHW batch");
        }
        // 80 channels are past the widest kernel (64): the unfused steps.
        List<String> wide = Lowering.lower(stem(80, true), Precision.BF16).steps().stream()
                .map(s -> s.kernel().split(" ")[0]).toList();
        assertEquals(List.of("im2col_nchw", "cublasLtMatmul", "layernorm_forward", "act_forward", "im2col_nhwc",
                "cublasLtMatmul", "layernorm_forward"), wide);
    }

    @Test
    void refusesWhatItCannotFuseByName() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor a = g.input("a", 2, 4, 4, 8), b = g.input("b", 2, 4, 4, 8);
        g.output(g.add(a, b));
        var e = assertThrows(UnsupportedOperationException.class, () -> Lowering.lower(g.build(), Precision.F32));
        assertTrue(e.getMessage().contains("Add"), e.getMessage());

        // The user's batch stays float; a bf16 program cannot multiply it with bf16 weights directly.
        GraphBuilder h = new GraphBuilder(DType.F32);
        Tensor x = h.input("x", 4, 8);
        h.output(h.linear(x, h.parameter("w", 3, 8), h.parameter("b", 3)));
        var f = assertThrows(UnsupportedOperationException.class, () -> Lowering.lower(h.build(), Precision.BF16));
        assertTrue(f.getMessage().contains("is F32 but the program multiplies in BF16"), f.getMessage());
    }
}
