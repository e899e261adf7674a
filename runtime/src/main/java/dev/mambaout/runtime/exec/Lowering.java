package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.ops.Act;
import dev.mambaout.graph.ops.Add;
import dev.mambaout.graph.ops.Conv2d;
import dev.mambaout.graph.ops.GatedDwConv;
import dev.mambaout.graph.ops.LayerNorm;
import dev.mambaout.graph.ops.LayerScale;
import dev.mambaout.graph.ops.Linear;
import dev.mambaout.graph.ops.MeanHW;
import dev.mambaout.graph.ops.NchwToNhwc;
import dev.mambaout.graph.ops.Op;
import dev.mambaout.kernels.GatedDwConvKernels;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.kernels.LnLinearKernels;
import dev.mambaout.kernels.StemKernels;
import dev.mambaout.natives.blas.CudaDataType;
import dev.mambaout.natives.blas.Epilogue;
import dev.mambaout.natives.blas.LtMatmul;
import dev.mambaout.natives.blas.LtMatmulSpec;
import dev.mambaout.natives.blas.RowMajorGemm;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.launch.ActLaunch;
import dev.mambaout.runtime.launch.GatedDwConvLaunch;
import dev.mambaout.runtime.launch.Im2colLaunch;
import dev.mambaout.runtime.launch.LayerNormLaunch;
import dev.mambaout.runtime.launch.LnLinearLaunch;
import dev.mambaout.runtime.launch.MeanHwLayerNormLaunch;
import dev.mambaout.runtime.launch.StemLaunch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Rewrites a forward graph's ops into the steps the GPU runs, decided once: each step names the arena buffers it
 * reads and writes (so memory is planned over what will actually run, scratch buffers included) and the weights it
 * needs in the layout its kernel reads. The fusions:
 * <ul>
 *   <li>{@code NchwToNhwc -> Conv2d(3x3) [-> LayerNorm] -> Act}: the stem's first conv, its norm and act in one kernel
 *       from the user's NCHW float batch (stem.cu), where its channels fit one of the kernel's widths;</li>
 *   <li>{@code NchwToNhwc -> Conv2d} otherwise: the stem's im2col reads the user's NCHW float batch directly;</li>
 *   <li>{@code Conv2d}: im2col, then one GEMM with the bias epilogue;</li>
 *   <li>{@code Linear [-> LayerScale] [-> Add]}: one GEMM with the bias epilogue; LayerScale folded into the weight
 *       and bias at upload; the residual add as C with beta = 1;</li>
 *   <li>{@code MeanHW -> LayerNorm}: one kernel (the head);</li>
 *   <li>{@code LayerNorm -> Linear} (bf16, the narrow stages' fc1): one kernel, the normalised rows never stored;</li>
 *   <li>{@code GatedDwConv}: one kernel; the conv's output never goes to memory.</li>
 * </ul>
 * Ops outside these patterns (a lone Add, a MeanHW with another consumer) are refused by name: the forward graphs of
 * every MambaOut structure are covered, and a refusal is clearer than a slow fallback.
 */
final class Lowering {

    /** A value in the activation arena. */
    record Buffer(int id, String name, DType dtype, Shape shape) {
        long bytes() { return shape.numel() * dtype.bytes(); }
    }

    /** A parameter in the weight buffer, in the layout one kernel reads; values come from the source at upload. */
    record Weight(String key, DType dtype, Shape shape, Function<WeightSource, float[]> values) {
        long bytes() { return shape.numel() * dtype.bytes(); }
    }

    /** What a step needs once memory is placed. */
    interface Binder {
        dev.mambaout.runtime.Tensor act(Buffer b);

        dev.mambaout.runtime.Tensor weight(Weight w);

        dev.mambaout.runtime.KernelModules modules();

        LtMatmul plan(LtMatmulSpec spec);

        long workspace();

        /** The device's SMs, for the persistent kernels' grids. */
        int smCount();
    }

    /** A step made runnable: kernel launches or library calls with every argument fixed. */
    interface Exec extends AutoCloseable {
        void run(Stream s);

        @Override
        void close();
    }

    /**
     * One lowered step.
     *
     * @param kernel what runs, as a profiler names it (the extern "C" kernel or the library call)
     * @param bytes  the fewest bytes the step must move through device memory (each operand read once, each result
     *               written once), for the profiler's bandwidth column
     * @param flops  floating-point operations (multiply-add = 2)
     */
    record Step(String name, String kernel, List<Buffer> reads, List<Buffer> writes, long bytes, double flops,
                Function<Binder, Exec> maker) {}

    record Result(List<Step> steps, Map<Integer, Buffer> buffers, List<Weight> weights, List<Buffer> inputs,
                  List<Buffer> outputs) {}

    private final Graph graph;
    private final Precision precision;
    private final DType t;
    private final Map<Integer, List<Op>> consumers = new HashMap<>();
    private final Map<Integer, Op> producers = new HashMap<>();
    private final Set<Integer> graphOutputs = new HashSet<>();
    private final Set<Op> done = new HashSet<>();
    private final Map<Integer, Buffer> buffers = new LinkedHashMap<>();
    private final Map<String, Weight> weights = new LinkedHashMap<>();
    private final List<Step> steps = new ArrayList<>();
    private int scratchIds = -1;

    private Lowering(Graph graph, Precision precision) {
        this.graph = graph;
        this.precision = precision;
        this.t = precision.storage();
        for (Op op : graph.ops()) {
            for (Tensor in : op.inputs()) consumers.computeIfAbsent(in.id(), k -> new ArrayList<>()).add(op);
            for (Tensor out : op.outputs()) producers.put(out.id(), op);
        }
        for (Tensor o : graph.outputs()) graphOutputs.add(o.id());
    }

    static Result lower(Graph graph, Precision precision) {
        Lowering l = new Lowering(graph, precision);
        for (Op op : graph.ops()) if (!l.done.contains(op)) l.lower(op);
        List<Buffer> inputs = graph.inputs().stream().map(l::buffer).toList();
        List<Buffer> outputs = graph.outputs().stream().map(t -> {
            Buffer b = l.buffers.get(t.id());
            if (b == null) throw new UnsupportedOperationException("output " + t + " is not computed on the GPU (a parameter or input?)");
            return b;
        }).toList();
        return new Result(List.copyOf(l.steps), l.buffers, List.copyOf(l.weights.values()), inputs, outputs);
    }

    private void lower(Op op) {
        done.add(op);
        switch (op) {
            case NchwToNhwc n -> {
                Op next = soleConsumer(n.out());
                if (!(next instanceof Conv2d c) || c.x() != n.out()) {
                    throw unsupported(op, "an NCHW input must feed exactly one Conv2d (the stem), which reads it directly");
                }
                done.add(c);
                if (!fusedStem(c, n.x())) conv(c, n.x(), true);
            }
            case Conv2d c -> conv(c, c.x(), false);
            case Linear l -> linear(l);
            case LayerNorm n -> {
                if (!fusedLayerNormLinear(n)) layerNorm(n);
            }
            case GatedDwConv g -> gated(g);
            case Act a -> act(a);
            case MeanHW m -> {
                Op next = soleConsumer(m.out());
                if (!(next instanceof LayerNorm n) || n.x() != m.out()) {
                    throw unsupported(op, "MeanHW must feed exactly one LayerNorm (the head), fused with it");
                }
                done.add(n);
                meanLayerNorm(m, n);
            }
            default -> throw unsupported(op, "no GPU lowering for " + op.kind() + " outside the fused patterns"
                    + " (Linear -> [LayerScale] -> Add, MeanHW -> LayerNorm, NchwToNhwc -> Conv2d)");
        }
    }

    // ------------------------------------------------------------------------------------------------ patterns

    private void conv(Conv2d c, Tensor x, boolean nchw) {
        int[] w = c.weight().shape().dims();    // [Co, Ci, k, k]
        int co = w[0], ci = w[1], k = w[2];
        Buffer in = buffer(x);
        Buffer out = buffer(c.out());
        int[] o = c.out().shape().dims();       // [N, Ho, Wo, Co]
        int rows = Math.toIntExact((long) o[0] * o[1] * o[2]);
        int colStride = Im2colKernels.colStride(k, ci);
        Buffer col = scratch(c.out().name() + ".im2col", t, Shape.of(rows, colStride));
        String name = c.weight().name();
        Weight packed = weight(name + ":im2col", t, Shape.of(co, colStride),
                src -> Im2colKernels.packWeight(src.values(name), co, ci, k));
        DType biasType = out.dtype();
        Weight bias = weight(c.bias().name() + ":" + biasType, biasType, c.bias().shape(), src -> src.values(c.bias().name()));
        int stride = c.stride(), pad = c.padding();
        steps.add(new Step(c.out().name() + " im2col", nchw ? "im2col_nchw" : "im2col_nhwc", List.of(in), List.of(col),
                in.bytes() + col.bytes(), 0,
                b -> launch(nchw ? Im2colLaunch.prepareNchw(b.modules(), b.act(col), b.act(in), k, stride, pad)
                        : Im2colLaunch.prepareNhwc(b.modules(), b.act(col), b.act(in), k, stride, pad))));
        gemm(c.out().name() + " conv", col, packed, bias, null, out, rows, colStride, co);
    }

    /**
     * The stem's first conv with its LayerNorm (official models) and act as one step, when the conv's output feeds
     * only them: the conv and norm outputs never reach memory. False (nothing lowered) for any other shape.
     */
    private boolean fusedStem(Conv2d c, Tensor x) {
        int[] w = c.weight().shape().dims();    // [Co, Ci, k, k]
        int co = w[0], ci = w[1];
        if (!StemKernels.supports(ci, co, w[2])) return false;
        Tensor t = c.out();
        Op next = soleConsumer(t);
        LayerNorm norm = null;
        if (next instanceof LayerNorm n && n.x() == t) {
            norm = n;
            t = n.out();
            next = soleConsumer(t);
        }
        if (!(next instanceof Act a) || a.x() != t) return false;
        if (norm != null) done.add(norm);
        done.add(a);
        Buffer in = buffer(x), out = buffer(a.out());
        String wName = c.weight().name(), bName = c.bias().name();
        String gName = norm == null ? null : norm.weight().name(), betaName = norm == null ? null : norm.bias().name();
        int width = StemKernels.width(co);
        Weight packed = weight(wName + ":stem" + (norm == null ? "" : "+" + gName), DType.F32,
                Shape.of(StemKernels.packedLength(ci, width)),
                src -> StemKernels.pack(src.values(wName), src.values(bName), gName == null ? null : src.values(gName),
                        betaName == null ? null : src.values(betaName), co, ci));
        boolean normed = norm != null;
        double eps = normed ? norm.eps() : 0;
        int stride = c.stride(), pad = c.padding();
        var fn = a.fn();
        long outputs = out.shape().numel();
        String what = " stem conv" + (normed ? "+layernorm+" : "+") + fn.name().toLowerCase(Locale.ROOT);
        steps.add(new Step(a.out().name() + what, "stem_conv_forward", List.of(in), List.of(out), in.bytes() + out.bytes() + packed.bytes(),
                2.0 * outputs * ci * StemKernels.KERNEL_SIZE * StemKernels.KERNEL_SIZE + (normed ? 18.0 : 10.0) * outputs,
                b -> launch(StemLaunch.prepare(b.modules(), b.act(out), b.act(in), b.weight(packed), co, stride, pad,
                        normed, eps, fn))));
        return true;
    }

    private void linear(Linear l) {
        int inF = l.weight().shape().dims()[1];
        Buffer x = buffer(l.x());
        int rows = Math.toIntExact(l.x().numel() / inF);
        Tensor result = l.out();
        Tensor gamma = null;
        Op next = soleConsumer(result);
        if (next instanceof LayerScale ls && ls.x() == result) {
            done.add(ls);
            gamma = ls.gamma();
            result = ls.out();
            next = soleConsumer(result);
        }
        Buffer residual = null;
        if (next instanceof Add a && (a.a() == result) != (a.b() == result)) {
            done.add(a);
            residual = buffer(a.a() == result ? a.b() : a.a());
            result = a.out();
        }
        Buffer out = buffer(result);
        LinearWeights lw = linearWeights(l, gamma, out.dtype());
        gemm(result.name() + " linear", x, lw.w(), lw.bias(), residual, out, rows, lw.in(), lw.out());
    }

    /** A Linear's weight [out, in] in the program's type and bias in {@code biasType}, as stored (padded widths). */
    private record LinearWeights(Weight w, Weight bias, int in, int out) {}

    /** W and b of l, with a following LayerScale's gamma folded in (null: none) and a gated block's pad applied. */
    private LinearWeights linearWeights(Linear l, Tensor gamma, DType biasType) {
        int[] w = l.weight().shape().dims();     // [out, in]
        int outF = w[0], inF = w[1];
        String wName = l.weight().name(), bName = l.bias().name();
        String wKey = wName + ":" + t, bKey = bName + ":" + biasType;
        Function<WeightSource, float[]> wv = src -> src.values(wName), bv = src -> src.values(bName);
        if (gamma != null) {
            // (x W^T + b) * gamma = x (diag(gamma) W)^T + gamma * b
            String gName = gamma.name();
            wKey += "*" + gName;
            bKey += "*" + gName;
            wv = src -> {
                float[] v = src.values(wName).clone(), g = src.values(gName);
                for (int r = 0; r < outF; r++) for (int i = 0; i < inF; i++) v[r * inF + i] *= g[r];
                return v;
            };
            bv = src -> {
                float[] v = src.values(bName).clone(), g = src.values(gName);
                for (int r = 0; r < outF; r++) v[r] *= g[r];
                return v;
            };
        }
        // A gated block's hidden width padded to a multiple of 8 (see HiddenPad): fc1 gains zero rows, fc2 zero columns.
        HiddenPad fc1Pad = hiddenPadOfInput(l.out()), fc2Pad = hiddenPadOfOutput(l.x());
        int storedOut = outF, storedIn = inF;
        if (fc1Pad != null) {
            HiddenPad hp = fc1Pad;
            storedOut = 2 * hp.padded();
            wKey += ":pad" + hp.padded();
            bKey += ":pad" + hp.padded();
            Function<WeightSource, float[]> w0 = wv, b0 = bv;
            wv = src -> hp.fc1Rows(w0.apply(src), inF);
            bv = src -> hp.fc1Rows(b0.apply(src), 1);
        }
        if (fc2Pad != null) {
            HiddenPad hp = fc2Pad;
            storedIn = hp.padded();
            wKey += ":padin" + hp.padded();
            Function<WeightSource, float[]> w0 = wv;
            wv = src -> hp.fc2Columns(w0.apply(src), outF);
        }
        return new LinearWeights(weight(wKey, t, Shape.of(storedOut, storedIn), wv),
                weight(bKey, biasType, Shape.of(storedOut), bv), storedIn, storedOut);
    }

    /**
     * A block's LayerNorm and the fc1 that alone reads it as one step (ln_linear.cu), in bf16 programs where the
     * stream is f32, fc1 writes bf16 for a reader other than LayerScale or Add, and a kernel exists for the width
     * (LnLinearKernels: the narrow stages); the normalised rows never reach memory. False (nothing lowered) otherwise.
     */
    private boolean fusedLayerNormLinear(LayerNorm n) {
        if (t != DType.BF16 || !(soleConsumer(n.out()) instanceof Linear l) || l.x() != n.out()) return false;
        Op after = soleConsumer(l.out());
        if (after instanceof LayerScale || after instanceof Add) return false;
        int k = l.weight().shape().dims()[1];
        Buffer x = buffer(n.x());
        Buffer out = buffer(l.out());
        int stored = out.shape().dims()[out.shape().rank() - 1];
        if (x.dtype() != DType.F32 || out.dtype() != DType.BF16 || !LnLinearKernels.supports(k, stored)) return false;
        done.add(l);
        LinearWeights lw = linearWeights(l, null, DType.F32);
        Weight gamma = f32(n.weight()), beta = f32(n.bias());
        double eps = n.eps();
        long tokens = x.shape().numel() / k;
        steps.add(new Step(l.out().name() + " layernorm+linear", "ln_linear_forward", List.of(x), List.of(out),
                x.bytes() + lw.w().bytes() + lw.bias().bytes() + out.bytes(),
                2.0 * tokens * k * lw.out() + 8.0 * x.shape().numel(),
                b -> launch(LnLinearLaunch.prepare(b.modules(), b.act(out), b.act(x), b.weight(gamma), b.weight(beta),
                        b.weight(lw.w()), b.weight(lw.bias()), eps, b.smCount()))));
        return true;
    }

    /**
     * A gated block's hidden width rounded up to a multiple of 8, so that fc1's output rows, the gate's rows and
     * fc2's K are 16-byte multiples in bf16 (cuBLASLt's fast kernels and the gate's vector path need it; base's
     * widths 341/682/1365 have none). The pad goes where the product is zero either way: {@code pad} zero channels of
     * g at {@code gateIn} (between the channels that multiply i and those that multiply the conv) and {@code pad} zero
     * channels at the end of i, so cat(i, conv(c)) keeps its split at hidden - conv; the padded gate outputs are
     * act(0) * 0 = 0 and meet zero columns of fc2. The output is exact: only zeros are added.
     *
     * @param gateIn hidden - conv channels: the width of i
     */
    record HiddenPad(int hidden, int gateIn, int padded) {
        int pad() { return padded - hidden; }

        /** Where fc1's row r of 2 * hidden goes among the 2 * padded: g's first gateIn, g's conv part, i, then c. */
        int fc1Row(int r) {
            return r < gateIn ? r : r < hidden + gateIn ? r + pad() : r + 2 * pad();
        }

        /** fc1's [2 * hidden, cols] rows (cols = 1 for the bias) into [2 * padded, cols]: g, then i, then c. */
        float[] fc1Rows(float[] v, int cols) {
            float[] o = new float[2 * padded * cols];
            for (int r = 0; r < 2 * hidden; r++) System.arraycopy(v, r * cols, o, fc1Row(r) * cols, cols);
            return o;
        }

        /** fc2's [rows, hidden] into [rows, padded]: zero columns at [gateIn, gateIn + pad). */
        float[] fc2Columns(float[] v, int rows) {
            float[] o = new float[rows * padded];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(v, r * hidden, o, r * padded, gateIn);
                System.arraycopy(v, r * hidden + gateIn, o, r * padded + gateIn + pad(), hidden - gateIn);
            }
            return o;
        }

        /** The inverse of {@link #fc1Rows}: the padded rows dropped. */
        float[] fc1RowsBack(float[] o, int cols) {
            float[] v = new float[2 * hidden * cols];
            for (int r = 0; r < 2 * hidden; r++) System.arraycopy(o, fc1Row(r) * cols, v, r * cols, cols);
            return v;
        }

        /** The inverse of {@link #fc2Columns}: the padded columns dropped. */
        float[] fc2ColumnsBack(float[] o, int rows) {
            float[] v = new float[rows * hidden];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(o, r * padded, v, r * hidden, gateIn);
                System.arraycopy(o, r * padded + gateIn + pad(), v, r * hidden + gateIn, hidden - gateIn);
            }
            return v;
        }

        /**
         * The pad of gated op g when fc1 (a Linear whose output feeds only g) writes its input and fc2 (a Linear)
         * alone reads its output, else null; {@code sole} gives a tensor's only reader in the forward graph.
         */
        static HiddenPad of(GatedDwConv g, Map<Integer, Op> producers, Function<Tensor, Op> sole) {
            int hidden = g.out().shape().dims()[g.out().shape().rank() - 1];
            int padded = (hidden + 7) / 8 * 8;
            if (padded == hidden) return null;
            boolean fc1 = producers.get(g.x().id()) instanceof Linear l && sole.apply(l.out()) == g;
            boolean fc2 = sole.apply(g.out()) instanceof Linear l && l.x() == g.out();
            if (!fc1 || !fc2) return null;
            return new HiddenPad(hidden, hidden - g.weight().shape().dims()[0], padded);
        }
    }

    /** The pad of a gated block whose fc1 writes x, when x feeds only the gate and its output feeds only fc2. */
    private HiddenPad hiddenPadOfInput(Tensor x) {
        return soleConsumer(x) instanceof GatedDwConv g && g.x() == x ? hiddenPad(g) : null;
    }

    /** The pad of the gated block that writes x (fc2's input). */
    private HiddenPad hiddenPadOfOutput(Tensor x) {
        return producers.get(x.id()) instanceof GatedDwConv g ? hiddenPad(g) : null;
    }

    private HiddenPad hiddenPad(GatedDwConv g) {
        return HiddenPad.of(g, producers, this::soleConsumer);
    }

    private void gemm(String name, Buffer a, Weight w, Weight bias, Buffer residual, Buffer out, int rows, int in, int outF) {
        if (a.dtype() != w.dtype()) {
            throw new UnsupportedOperationException("cannot lower " + name + ": its input " + a.name() + " is " + a.dtype()
                    + " but the program multiplies in " + w.dtype() + " (a linear layer on the graph input is not supported)");
        }
        if (residual != null && residual.dtype() != out.dtype()) {
            throw new IllegalStateException("cannot lower " + name + ": the shortcut " + residual.name() + " is "
                    + residual.dtype() + " but the sum " + out.name() + " is " + out.dtype()
                    + " (cuBLASLt reads C in D's type)");
        }
        RowMajorGemm shape = RowMajorGemm.linear(rows, in, outF);
        LtMatmulSpec spec = LtMatmulSpec.of(shape, cuda(a.dtype()), cuda(out.dtype()), precision.compute(), Epilogue.BIAS);
        List<Buffer> reads = residual == null ? List.of(a) : List.of(a, residual);
        long bytes = a.bytes() + w.bytes() + bias.bytes() + out.bytes() + (residual == null ? 0 : residual.bytes());
        float beta = residual == null ? 0f : 1f;
        steps.add(new Step(name, "cublasLtMatmul " + shape.m() + "x" + shape.n() + "x" + shape.k(), reads, List.of(out),
                bytes, 2.0 * rows * in * outF, b -> {
            LtMatmul plan = b.plan(spec);
            long pa = b.act(a).address(), pw = b.weight(w).address(), pb = b.weight(bias).address();
            long pc = residual == null ? 0 : b.act(residual).address(), pd = b.act(out).address();
            long ws = b.workspace();
            return new Exec() {
                public void run(Stream s) { plan.run(1f, pa, pw, beta, pc, pd, pb, ws, s.handle()); }

                public void close() { plan.close(); }
            };
        }));
    }

    private void layerNorm(LayerNorm n) {
        Buffer x = buffer(n.x()), out = buffer(n.out());
        Weight w = f32(n.weight()), b = f32(n.bias());
        double eps = n.eps();
        steps.add(new Step(n.out().name() + " layernorm", "layernorm_forward", List.of(x), List.of(out),
                x.bytes() + out.bytes() + w.bytes() + b.bytes(), 8.0 * x.shape().numel(),
                bd -> launch(LayerNormLaunch.prepareForward(bd.modules(), bd.act(out), null, null, bd.act(x),
                        bd.weight(w), bd.weight(b), eps))));
    }

    private void meanLayerNorm(MeanHW m, LayerNorm n) {
        Buffer x = buffer(m.x()), out = buffer(n.out());
        Weight w = f32(n.weight()), b = f32(n.bias());
        double eps = n.eps();
        steps.add(new Step(n.out().name() + " mean+layernorm", "mean_hw_layernorm", List.of(x), List.of(out),
                x.bytes() + out.bytes(), x.shape().numel() + 8.0 * out.shape().numel(),
                bd -> launch(MeanHwLayerNormLaunch.prepare(bd.modules(), bd.act(out), bd.act(x), bd.weight(w),
                        bd.weight(b), eps))));
    }

    private void gated(GatedDwConv g) {
        Buffer x = buffer(g.x()), out = buffer(g.out());
        int[] wd = g.weight().shape().dims();    // [c, 1, k, k]
        int c = wd[0], k = wd[2];
        String wName = g.weight().name();
        // Tap-major [k*k, c]: a warp reading one tap of consecutive channels reads consecutive floats.
        Weight taps = weight(wName + ":taps", DType.F32, Shape.of(k * k, c),
                src -> GatedDwConvKernels.packTapMajor(src.values(wName), c, k));
        Weight bias = f32(g.bias());
        long tokens = out.shape().numel() / out.shape().dims()[out.shape().rank() - 1];
        var act = g.act();
        steps.add(new Step(g.out().name() + " gated dwconv", "gated_dwconv_forward", List.of(x), List.of(out),
                x.bytes() + out.bytes() + taps.bytes(), 2.0 * k * k * c * tokens + 10.0 * out.shape().numel(),
                b -> launch(GatedDwConvLaunch.prepare(b.modules(), b.act(out), b.act(x), b.weight(taps), b.weight(bias),
                        c, k, act))));
    }

    private void act(Act a) {
        Buffer x = buffer(a.x()), out = buffer(a.out());
        var fn = a.fn();
        steps.add(new Step(a.out().name() + " " + fn.name().toLowerCase(Locale.ROOT), "act_forward",
                List.of(x), List.of(out), x.bytes() + out.bytes(), 10.0 * x.shape().numel(),
                b -> launch(ActLaunch.prepare(b.modules(), b.act(out), b.act(x), fn))));
    }

    // ------------------------------------------------------------------------------------------------ helpers

    static Exec launch(Launch l) {
        return new Exec() {
            public void run(Stream s) { l.launch(s); }

            public void close() { l.close(); }
        };
    }

    private Op soleConsumer(Tensor x) {
        List<Op> c = consumers.getOrDefault(x.id(), List.of());
        return c.size() == 1 && !graphOutputs.contains(x.id()) ? c.get(0) : null;
    }

    private Buffer buffer(Tensor x) {
        return buffer(x, activationType(x), storageShape(x));
    }

    /** x's shape, with the last dimension padded where x is a gated block's padded input or output (HiddenPad). */
    private Shape storageShape(Tensor x) {
        if (x.role() != Tensor.Role.COMPUTED) return x.shape();
        HiddenPad in = hiddenPadOfInput(x), out = in == null ? hiddenPadOfOutput(x) : null;
        if (in == null && out == null) return x.shape();
        int[] d = x.shape().dims().clone();
        d[d.length - 1] = in != null ? 2 * in.padded() : out.padded();
        return Shape.of(d);
    }

    /**
     * An activation's storage: the program's type, except in bf16 programs, where the residual stream stays f32 as
     * PyTorch's autocast keeps it (bf16 there is only the GEMMs' operands and what feeds them): a tensor is f32 when
     * the caller reads it (logits, features), when it is a residual operand (consumed by an Add) or a residual sum
     * (an Add's output: the fused GEMM reads the shortcut as C, and cuBLASLt's C and D share one type, so a bf16 sum
     * would read an f32 shortcut as bf16: the NaN of round 3, where a stage's last sum feeds only the downsampling
     * conv), or when a GEMM, convolution or LayerNorm writes it for a LayerNorm or the pooled head to read
     * (statistics over f32, and a GEMM writes f32 at no extra pass). The graph's input is f32 in every precision.
     */
    private DType activationType(Tensor x) {
        return activationType(x, t, graphOutputs.contains(x.id()), consumers.getOrDefault(x.id(), List.of()),
                producers.get(x.id()));
    }

    /** The rule above for x stored in a program of type {@code t}; the training lowering applies it too. */
    static DType activationType(Tensor x, DType t, boolean callerReads, List<Op> readers, Op producer) {
        if (x.role() == Tensor.Role.INPUT || t == DType.F32) return DType.F32;
        if (callerReads) return DType.F32;
        if (producer instanceof Add || readers.stream().anyMatch(op -> op instanceof Add)) return DType.F32;
        boolean normalised = readers.stream().anyMatch(op -> op instanceof LayerNorm || op instanceof MeanHW);
        boolean streamWriter = producer instanceof Conv2d || producer instanceof Linear
                || producer instanceof LayerNorm || producer instanceof LayerScale;
        return normalised && streamWriter ? DType.F32 : t;
    }

    private Buffer buffer(Tensor x, DType dtype, Shape shape) {
        if (x.role() == Tensor.Role.PARAMETER) throw new IllegalStateException(x + " is a parameter, not an activation");
        if (!x.dtype().isFloatingPoint()) {
            throw new UnsupportedOperationException("the GPU executor runs float graphs; " + x + " is " + x.dtype());
        }
        Buffer b = buffers.get(x.id());
        if (b == null) {
            b = new Buffer(x.id(), x.name(), dtype, shape);
            buffers.put(x.id(), b);
        } else if (b.dtype() != dtype) {
            throw new IllegalStateException(x + " is needed both as " + b.dtype() + " and " + dtype);
        }
        return b;
    }

    private Buffer scratch(String name, DType dtype, Shape shape) {
        Buffer b = new Buffer(scratchIds--, name, dtype, shape);
        buffers.put(b.id(), b);
        return b;
    }

    private Weight f32(Tensor p) {
        return weight(p.name() + ":F32", DType.F32, p.shape(), src -> src.values(p.name()));
    }

    private Weight weight(String key, DType dtype, Shape shape, Function<WeightSource, float[]> values) {
        return weights.computeIfAbsent(key, k -> new Weight(k, dtype, shape, values));
    }

    static CudaDataType cuda(DType d) {
        return switch (d) {
            case F32 -> CudaDataType.F32;
            case BF16 -> CudaDataType.BF16;
            default -> throw new IllegalArgumentException("no GEMM for " + d);
        };
    }

    private static UnsupportedOperationException unsupported(Op op, String why) {
        return new UnsupportedOperationException("cannot lower " + op.kind() + " -> " + op.outputs() + ": " + why);
    }
}
