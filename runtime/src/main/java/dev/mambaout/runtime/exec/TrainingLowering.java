package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.TrainingGraph;
import dev.mambaout.graph.ops.Act;
import dev.mambaout.graph.ops.ActBackward;
import dev.mambaout.graph.ops.Add;
import dev.mambaout.graph.ops.Conv2d;
import dev.mambaout.graph.ops.Conv2dBackwardInput;
import dev.mambaout.graph.ops.Conv2dBackwardWeight;
import dev.mambaout.graph.ops.CrossEntropy;
import dev.mambaout.graph.ops.CrossEntropyBackward;
import dev.mambaout.graph.ops.DropPath;
import dev.mambaout.graph.ops.DropPathBackward;
import dev.mambaout.graph.ops.Fill;
import dev.mambaout.graph.ops.GatedDwConv;
import dev.mambaout.graph.ops.GatedDwConvBackward;
import dev.mambaout.graph.ops.LayerNorm;
import dev.mambaout.graph.ops.LayerNormBackward;
import dev.mambaout.graph.ops.LayerScale;
import dev.mambaout.graph.ops.LayerScaleBackward;
import dev.mambaout.graph.ops.Linear;
import dev.mambaout.graph.ops.LinearBackwardInput;
import dev.mambaout.graph.ops.LinearBackwardWeight;
import dev.mambaout.graph.ops.MeanHW;
import dev.mambaout.graph.ops.MeanHWBackward;
import dev.mambaout.graph.ops.NchwToNhwc;
import dev.mambaout.graph.ops.Op;
import dev.mambaout.kernels.WgradKernels;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.kernels.GatedDwConvKernels;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.kernels.LayerNormKernels;
import dev.mambaout.natives.blas.Epilogue;
import dev.mambaout.natives.blas.LtMatmul;
import dev.mambaout.natives.blas.LtMatmulSpec;
import dev.mambaout.natives.blas.RowMajorGemm;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.exec.Lowering.Binder;
import dev.mambaout.runtime.exec.Lowering.Buffer;
import dev.mambaout.runtime.exec.Lowering.Exec;
import dev.mambaout.runtime.exec.Lowering.Step;
import dev.mambaout.runtime.exec.Lowering.Weight;
import dev.mambaout.runtime.launch.ActBackwardLaunch;
import dev.mambaout.runtime.launch.ActLaunch;
import dev.mambaout.runtime.launch.AdamWLaunch;
import dev.mambaout.runtime.launch.CastLaunch;
import dev.mambaout.runtime.launch.Col2imLaunch;
import dev.mambaout.runtime.launch.CrossEntropyLaunch;
import dev.mambaout.runtime.launch.DropPathLaunch;
import dev.mambaout.runtime.launch.GatedDwConvBackwardLaunch;
import dev.mambaout.runtime.launch.GatedDwConvLaunch;
import dev.mambaout.runtime.launch.Im2colLaunch;
import dev.mambaout.runtime.launch.LayerNormBackwardLaunch;
import dev.mambaout.runtime.launch.LayerNormLaunch;
import dev.mambaout.runtime.launch.LayerScaleBackwardLaunch;
import dev.mambaout.runtime.launch.WgradLaunch;
import dev.mambaout.runtime.launch.LayerScaleLaunch;
import dev.mambaout.runtime.launch.MeanHwBackwardLaunch;
import dev.mambaout.runtime.launch.MeanHwLayerNormLaunch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Rewrites a training graph (forward, loss, backward: {@code Autodiff.training}) into the steps of one training step
 * on the GPU, ending with the AdamW update, so that {@link GpuProgram}'s planner and capture carry it unchanged: one
 * step is one CUDA graph replay. What differs from the forward's {@link Lowering}:
 * <ul>
 *   <li>Parameters live in flat f32 buffers (master, gradient, first and second moment; {@link AdamWKernels#plan}:
 *       decaying parameters first), each in the layout its kernel reads ({@link Param.Layout}: im2col order for
 *       convolutions, tap-major for the depthwise conv, and, as in inference, a gated block's hidden width padded to
 *       a multiple of 8 with zero rows of fc1 and zero columns of fc2: zero gradients keep them zero); bf16 programs
 *       multiply with the bf16 copy that AdamW writes in the same pass. Nothing is folded into a weight (LayerScale
 *       is trained).</li>
 *   <li>LayerNorms write their mean and rstd, the head's fused pool + norm also its pooled rows; convolutions keep
 *       their im2col buffer for the weight gradient. The planner keeps what the backward reads alive.</li>
 *   <li>{@code CrossEntropy} and its backward are one kernel pair (the seed gradient's {@code Fill} is its scale).</li>
 *   <li>Linear and convolution backward are cuBLASLt GEMMs: dX = dY W (then col2im for a convolution) and
 *       dW = dY^T X with the bias gradient from the BGRADB epilogue, written straight into the flat gradient; a
 *       weight gradient at most 64 wide on both sides (the stem's first conv) takes wgrad.cu instead.</li>
 *   <li>A residual's two gradient contributions (the shortcut and the block's LayerNorm) are summed by the LayerNorm
 *       backward's accumulating variant, in place in the shortcut's gradient: no add pass.</li>
 *   <li>In bf16 programs an f32 gradient that a GEMM multiplies (the residual stream's) is cast to bf16 once.</li>
 *   <li>Ops no wanted result depends on (the input image's gradient) are dropped.</li>
 * </ul>
 * LayerScale (the {@code _rw} blocks) is its own kernel pair: {@code LayerScale -> Add} forward, dx and dgamma
 * backward. Stochastic depth: {@code [LayerScale ->] DropPath -> Add} is one kernel (out = shortcut + scale[n] *
 * [gamma *] x) and {@code DropPathBackward} another (the branch's gradient scale[n] * dy), both drawing the masks on
 * the device from the step in the hyperparameter buffer: the training graph's I64 step counter is AdamW's step, so
 * replays draw each step's masks without a new capture. Without DropPath ops (rate 0) nothing changes. Refused by
 * name: any op outside the patterns the MambaOut graphs produce.
 */
final class TrainingLowering {

    /** One trained parameter: where it lives in the flat buffers and in which layout. */
    record Param(int index, String name, Shape torchShape, Layout layout, Shape stored, boolean decays,
                 Lowering.HiddenPad pad) {

        enum Layout {
            /** PyTorch's own layout (norm weights, biases, linear weights). */
            PLAIN,
            /** A conv weight [Cout, Cin, k, k] as im2col's GEMM reads it: [Cout, colStride], zeros past k*k*Cin. */
            IM2COL,
            /** A depthwise weight [C, 1, k, k] tap-major: [k*k, C]. */
            TAPS,
            /** fc1's weight [2 hidden, in] or bias [2 hidden] of a gated block with a padded hidden width: zero rows. */
            PAD_ROWS,
            /** fc2's weight [out, hidden] of such a block: zero columns. */
            PAD_COLUMNS
        }

        long numel() { return stored.numel(); }

        /** PyTorch-layout values into this parameter's stored layout. */
        float[] pack(float[] torch) {
            if (torch.length != torchShape.numel()) {
                throw new IllegalArgumentException("'" + name + "' needs " + torchShape.numel() + " values " + torchShape
                        + ", got " + torch.length);
            }
            int[] d = torchShape.dims();
            return switch (layout) {
                case PLAIN -> torch.clone();
                case IM2COL -> Im2colKernels.packWeight(torch, d[0], d[1], d[2]);
                case TAPS -> GatedDwConvKernels.packTapMajor(torch, d[0], d[2]);
                case PAD_ROWS -> pad.fc1Rows(torch, d.length == 1 ? 1 : d[1]);
                case PAD_COLUMNS -> pad.fc2Columns(torch, d[0]);
            };
        }

        /** Stored values back into PyTorch's layout (the inverse of {@link #pack}). */
        float[] unpack(float[] stored) {
            int[] d = torchShape.dims();
            return switch (layout) {
                case PLAIN -> stored.clone();
                case IM2COL -> {
                    int co = d[0], ci = d[1], k = d[2], cs = stored().dims()[1];
                    float[] t = new float[co * ci * k * k];
                    for (int o = 0; o < co; o++)
                        for (int c = 0; c < ci; c++)
                            for (int tap = 0; tap < k * k; tap++) t[(o * ci + c) * k * k + tap] = stored[o * cs + tap * ci + c];
                    yield t;
                }
                case TAPS -> {
                    int c = d[0], taps = d[2] * d[2];
                    float[] t = new float[c * taps];
                    for (int ch = 0; ch < c; ch++) for (int tap = 0; tap < taps; tap++) t[ch * taps + tap] = stored[tap * c + ch];
                    yield t;
                }
                case PAD_ROWS -> pad.fc1RowsBack(stored, d.length == 1 ? 1 : d[1]);
                case PAD_COLUMNS -> pad.fc2ColumnsBack(stored, d[0]);
            };
        }
    }

    /** Keys of the weights that resolve to the flat state (see {@link GpuTrainProgram}). */
    static final String MASTER = "master:", BF16 = "bf16:", GRAD = "grad:";
    static final String FLAT_MASTER = "flat:master", FLAT_GRAD = "flat:grad", FLAT_M = "flat:m", FLAT_V = "flat:v",
            FLAT_BF16 = "flat:bf16", HYPER = "adamw:hyper", ADAMW_WORKSPACE = "adamw:workspace",
            GRAD_NORM = "adamw:norm", ONES = "ones:";

    /**
     * @param program the steps, buffers, weights (flat-state views) and the inputs (image, labels) and outputs
     *                (loss, logits) of the step
     * @param onesRows the longest vector of ones a bias-gradient fallback may read (0: none)
     * @param gradientSteps per parameter (by {@link Param#index}), the index of the last step that writes its
     *                      gradient: after it the gradient is final (data parallel: its bucket may be all-reduced)
     */
    record Result(Lowering.Result program, List<Param> params, AdamWKernels.Layout layout, Buffer loss, Buffer logits,
                  int onesRows, int[] gradientSteps) {
        Result {
            gradientSteps = gradientSteps.clone();
        }

        @Override
        public int[] gradientSteps() { return gradientSteps.clone(); }

        /** The index of the optimiser's step, the first that reads the gradients as a whole. */
        int optimizerStep() { return program.steps().size() - 1; }
    }

    private final Graph graph;
    private final Precision precision;
    private final DType t;
    private final int smCount;
    private final int forwardOps;
    private final Map<Integer, List<Op>> readers = new HashMap<>();
    private final Map<Integer, List<Op>> forwardReaders = new HashMap<>();
    private final Map<Integer, Op> producers = new HashMap<>();
    private final Map<Op, Integer> position = new HashMap<>();
    private final Set<Integer> callerReads = new HashSet<>();
    private final Set<Op> needed = new HashSet<>();
    private final Set<Op> done = new HashSet<>();
    private final Map<Integer, Buffer> buffers = new HashMap<>();
    private final Map<Integer, Buffer> unique = new LinkedHashMap<>();
    private final Map<String, Weight> weights = new LinkedHashMap<>();
    private final Map<Integer, Param> params = new LinkedHashMap<>();
    private final Map<Integer, Param> gradOf = new HashMap<>();
    /** Forward LayerNorms by (x, weight): their statistics, for the backward. */
    private final Map<List<Integer>, Buffer[]> stats = new HashMap<>();
    /**
     * Activations (and their gradients) stored wider than the graph's shape: a gated block's fc1 output and gate
     * output with the hidden width padded to a multiple of 8 ({@link Lowering.HiddenPad}; base's 341, 682, 1365), so
     * that the GEMMs, the gate and its backward take their 16-byte paths. The padded channels hold zeros forward and
     * get zero gradients backward, so nothing changes but the speed.
     */
    private final Map<Integer, Shape> padded = new HashMap<>();
    /** Forward convolutions by input tensor: the im2col buffer and geometry, for the weight gradient. */
    private final Map<Integer, ConvSaved> cols = new HashMap<>();
    /** Forward DropPaths by block, for their backward. */
    private final Map<Integer, DropPath> dropPaths = new HashMap<>();
    /** The step counters the DropPaths read: the hyperparameter buffer's step, not an input buffer. */
    private final Set<Integer> counters = new HashSet<>();
    /** bf16 casts of f32 gradients, by gradient tensor id. */
    private final Map<Integer, Buffer> bf16Casts = new HashMap<>();
    private final List<Step> steps = new ArrayList<>();
    /** Parameter name -> the index of the last step so far that writes its gradient. */
    private final Map<String, Integer> gradientWriters = new HashMap<>();
    private int scratchIds = -1;
    private int onesRows;

    private record ConvSaved(Conv2d conv, Buffer col, int rows, int colStride) {}

    private TrainingLowering(TrainingGraph training, Tensor logits, Precision precision, int smCount) {
        this.graph = training.graph();
        this.precision = precision;
        this.t = precision.storage();
        this.smCount = smCount;
        List<Op> ops = graph.ops();
        int f = ops.size();
        for (int i = 0; i < ops.size(); i++) {
            if (ops.get(i) instanceof Fill) {
                f = i;
                break;
            }
        }
        this.forwardOps = f;
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            position.put(op, i);
            for (Tensor in : op.inputs()) {
                readers.computeIfAbsent(in.id(), k -> new ArrayList<>()).add(op);
                if (i < forwardOps) forwardReaders.computeIfAbsent(in.id(), k -> new ArrayList<>()).add(op);
            }
            for (Tensor out : op.outputs()) producers.put(out.id(), op);
        }
        callerReads.add(logits.id());
        callerReads.add(training.loss().id());
    }

    /**
     * @param training the model's training graph
     * @param logits   the forward tensor the caller reads back (accuracy)
     * @param smCount  the device's multiprocessors (the LayerNorm backward's partial-sum grid)
     * @param decays   which parameters get weight decay
     */
    static Result lower(TrainingGraph training, Tensor logits, Precision precision, int smCount, Predicate<Tensor> decays) {
        if (precision == null) throw new IllegalArgumentException("precision is required");
        TrainingLowering l = new TrainingLowering(training, logits, precision, smCount);
        l.declareParams(training, decays);
        l.markNeeded(training, logits);
        for (Op op : l.graph.ops()) if (l.needed.contains(op) && !l.done.contains(op)) l.lower(op);
        List<Param> ps = List.copyOf(l.params.values());
        long[] numel = new long[ps.size()];
        boolean[] dec = new boolean[ps.size()];
        for (int i = 0; i < ps.size(); i++) {
            numel[i] = ps.get(i).numel();
            dec[i] = ps.get(i).decays();
        }
        AdamWKernels.Layout layout = AdamWKernels.plan(numel, dec);
        int[] gradientSteps = new int[ps.size()];
        for (int i = 0; i < ps.size(); i++) {
            Integer w = l.gradientWriters.get(ps.get(i).name());
            if (w == null) throw new IllegalStateException("no step writes the gradient of " + ps.get(i).name());
            gradientSteps[i] = w;
        }
        l.adamw(layout);
        List<Buffer> inputs = new ArrayList<>();
        for (Tensor in : l.graph.inputs()) {
            if (l.counters.contains(in.id())) continue;
            Buffer b = l.buffers.get(in.id());
            if (b == null) throw new IllegalStateException("no step reads the training input " + in);
            inputs.add(b);
        }
        Buffer loss = l.buffers.get(training.loss().id()), lg = l.buffers.get(logits.id());
        Lowering.Result r = new Lowering.Result(List.copyOf(l.steps), l.unique, List.copyOf(l.weights.values()),
                inputs, List.of(loss, lg));
        return new Result(r, ps, layout, loss, lg, l.onesRows, gradientSteps);
    }

    // -------------------------------------------------------------------------------------------- set-up

    private void declareParams(TrainingGraph training, Predicate<Tensor> decays) {
        Map<Integer, Param.Layout> layouts = new HashMap<>();
        Map<Integer, Lowering.HiddenPad> pads = new HashMap<>();
        for (int i = 0; i < forwardOps; i++) {
            Op op = graph.ops().get(i);
            if (op instanceof Conv2d c) layouts.put(c.weight().id(), Param.Layout.IM2COL);
            if (op instanceof GatedDwConv g) {
                layouts.put(g.weight().id(), Param.Layout.TAPS);
                Lowering.HiddenPad hp = Lowering.HiddenPad.of(g, producers, this::soleForwardReader);
                if (hp != null) {
                    Linear fc1 = (Linear) producers.get(g.x().id()), fc2 = (Linear) soleForwardReader(g.out());
                    for (Tensor w : List.of(fc1.weight(), fc1.bias())) {
                        layouts.put(w.id(), Param.Layout.PAD_ROWS);
                        pads.put(w.id(), hp);
                    }
                    layouts.put(fc2.weight().id(), Param.Layout.PAD_COLUMNS);
                    pads.put(fc2.weight().id(), hp);
                    padded.put(g.x().id(), lastDim(g.x().shape(), 2 * hp.padded()));
                    padded.put(g.out().id(), lastDim(g.out().shape(), hp.padded()));
                }
            }
        }
        for (Tensor p : graph.tensors()) {
            if (p.role() != Tensor.Role.PARAMETER) continue;
            Param.Layout lay = layouts.getOrDefault(p.id(), Param.Layout.PLAIN);
            int[] d = p.shape().dims();
            Lowering.HiddenPad hp = pads.get(p.id());
            Shape stored = switch (lay) {
                case PLAIN -> p.shape();
                case IM2COL -> Shape.of(d[0], Im2colKernels.colStride(d[2], d[1]));
                case TAPS -> Shape.of(d[2] * d[3], d[0]);
                case PAD_ROWS -> d.length == 1 ? Shape.of(2 * hp.padded()) : Shape.of(2 * hp.padded(), d[1]);
                case PAD_COLUMNS -> Shape.of(d[0], hp.padded());
            };
            Param par = new Param(params.size(), p.name(), p.shape(), lay, stored, decays.test(p), hp);
            params.put(p.id(), par);
            gradOf.put(training.gradient(p).id(), par);
        }
    }

    /** Marks every op that the parameter gradients, the loss or the logits depend on. */
    private void markNeeded(TrainingGraph training, Tensor logits) {
        Set<Integer> wanted = new HashSet<>(gradOf.keySet());
        wanted.add(training.loss().id());
        wanted.add(logits.id());
        List<Op> ops = graph.ops();
        for (int i = ops.size() - 1; i >= 0; i--) {
            Op op = ops.get(i);
            if (op.outputs().stream().noneMatch(o -> wanted.contains(o.id()))) continue;
            // A parameter's zero gradient (it never reaches the loss) is the flat buffer's zero: no step.
            if (op instanceof Fill f && f.value() == 0 && gradOf.containsKey(f.out().id())) continue;
            needed.add(op);
            for (Tensor in : op.inputs()) wanted.add(in.id());
        }
    }

    private void lower(Op op) {
        done.add(op);
        switch (op) {
            case NchwToNhwc n -> {
                if (!(soleForwardReader(n.out()) instanceof Conv2d c) || c.x() != n.out()) {
                    throw unsupported(op, "an NCHW input must feed exactly one Conv2d (the stem), which reads it directly");
                }
                done.add(c);
                conv(c, n.x(), true);
            }
            case Conv2d c -> conv(c, c.x(), false);
            case Linear l -> linear(l);
            case LayerNorm n -> layerNorm(n);
            case GatedDwConv g -> gated(g);
            case Act a -> act(a);
            case MeanHW m -> {
                if (!(soleForwardReader(m.out()) instanceof LayerNorm n) || n.x() != m.out()) {
                    throw unsupported(op, "MeanHW must feed exactly one LayerNorm (the head), fused with it");
                }
                done.add(n);
                meanLayerNorm(m, n);
            }
            case CrossEntropy c -> crossEntropy(c);
            case LinearBackwardInput b -> linearBackwardInput(b);
            case LinearBackwardWeight b -> linearBackwardWeight(b);
            case Conv2dBackwardInput b -> convBackwardInput(b);
            case Conv2dBackwardWeight b -> convBackwardWeight(b);
            case LayerNormBackward b -> layerNormBackward(b);
            case GatedDwConvBackward b -> gatedBackward(b);
            case ActBackward b -> actBackward(b);
            case MeanHWBackward b -> meanBackward(b);
            case LayerScale ls -> layerScale(ls);
            case LayerScaleBackward b -> layerScaleBackward(b);
            case DropPath d -> dropPathResidual(d, null);
            case DropPathBackward b -> dropPathBackward(b);
            case Add a -> throw unsupported(op, "a sum of gradients outside a residual's LayerNorm (whose backward"
                    + " accumulates it in place) has no kernel");
            default -> throw unsupported(op, "no GPU training lowering for " + op.kind());
        }
    }

    // -------------------------------------------------------------------------------------------- forward

    private void conv(Conv2d c, Tensor x, boolean nchw) {
        int[] w = c.weight().shape().dims();
        int co = w[0], ci = w[1], k = w[2];
        Buffer in = act(x), out = act(c.out());
        int[] o = c.out().shape().dims();
        int rows = Math.toIntExact((long) o[0] * o[1] * o[2]);
        int colStride = Im2colKernels.colStride(k, ci);
        Buffer col = scratch(c.out().name() + ".im2col", t, Shape.of(rows, colStride));
        if (cols.put(c.x().id(), new ConvSaved(c, col, rows, colStride)) != null) {
            throw unsupported(c, "two convolutions read " + c.x() + " (the weight gradient keys the saved im2col by input)");
        }
        int stride = c.stride(), pad = c.padding();
        steps.add(new Step(c.out().name() + " im2col", nchw ? "im2col_nchw" : "im2col_nhwc", List.of(in), List.of(col),
                in.bytes() + col.bytes(), 0,
                b -> Lowering.launch(nchw ? Im2colLaunch.prepareNchw(b.modules(), b.act(col), b.act(in), k, stride, pad)
                        : Im2colLaunch.prepareNhwc(b.modules(), b.act(col), b.act(in), k, stride, pad))));
        gemm(c.out().name() + " conv", RowMajorGemm.linear(rows, colStride, co), Operand.of(col),
                operand(param(c.weight())), null, Operand.of(out), Epilogue.BIAS, bias(param(c.bias()), out.dtype()));
    }

    private void linear(Linear l) {
        int[] w = param(l.weight()).stored().dims();   // the padded width where a gated block's is padded
        int outF = w[0], inF = w[1];
        Buffer x = act(l.x());
        int rows = Math.toIntExact(l.x().numel() / l.weight().shape().dim(1));
        Tensor result = l.out();
        Buffer residual = null;
        if (soleForwardReader(result) instanceof Add a && (a.a() == result) != (a.b() == result)) {
            done.add(a);
            residual = act(a.a() == result ? a.b() : a.a());
            result = a.out();
        }
        Buffer out = act(result);
        gemm(result.name() + " linear", RowMajorGemm.linear(rows, inF, outF), Operand.of(x), operand(param(l.weight())),
                residual, Operand.of(out), Epilogue.BIAS, bias(param(l.bias()), out.dtype()));
    }

    /**
     * {@code LayerScale -> Add}: out = shortcut + gamma * x in one kernel. fc2's output x stays in memory (unlike
     * inference, where gamma is folded into fc2): the gamma gradient reads it.
     */
    private void layerScale(LayerScale ls) {
        if (soleForwardReader(ls.out()) instanceof DropPath d) {
            done.add(d);
            dropPathResidual(d, ls);
            return;
        }
        if (!(soleForwardReader(ls.out()) instanceof Add a) || (a.a() == ls.out()) == (a.b() == ls.out())) {
            throw unsupported(ls, "LayerScale must feed exactly one residual Add (the _rw block)");
        }
        done.add(a);
        Buffer x = act(ls.x()), shortcut = act(a.a() == ls.out() ? a.b() : a.a()), out = act(a.out());
        Weight gamma = master(param(ls.gamma()));
        steps.add(new Step(a.out().name() + " layerscale + residual", "layerscale_residual_forward", List.of(x, shortcut),
                List.of(out), x.bytes() + shortcut.bytes() + out.bytes(), 2.0 * x.shape().numel(),
                b -> Lowering.launch(LayerScaleLaunch.prepare(b.modules(), b.act(out), b.act(shortcut), b.act(x),
                        b.weight(gamma)))));
    }

    /**
     * {@code [LayerScale ->] DropPath -> Add}: out = shortcut + scale[n] * [gamma *] x in one kernel, the masks of the
     * step in the hyperparameter buffer (written before each replay). x stays in memory for the backward.
     */
    private void dropPathResidual(DropPath d, LayerScale ls) {
        if (!(soleForwardReader(d.out()) instanceof Add a) || (a.a() == d.out()) == (a.b() == d.out())) {
            throw unsupported(d, "DropPath must feed exactly one residual Add (a block's branch)");
        }
        if (dropPaths.put(d.block(), d) != null) {
            throw unsupported(d, "two DropPath ops share block " + d.block() + " (their backward finds them by block)");
        }
        done.add(a);
        counters.add(d.step().id());
        Buffer x = act(ls == null ? d.x() : ls.x()), shortcut = act(a.a() == d.out() ? a.b() : a.a()), out = act(a.out());
        Weight gamma = ls == null ? null : master(param(ls.gamma()));
        Weight hyper = flat(HYPER, DType.F64, AdamWKernels.HYPER_DOUBLES);
        long seed = d.seed();
        int block = d.block();
        double rate = d.rate();
        steps.add(new Step(a.out().name() + (ls == null ? " droppath" : " layerscale + droppath") + " + residual",
                "droppath_residual_forward", List.of(x, shortcut), List.of(out),
                x.bytes() + shortcut.bytes() + out.bytes(), 2.0 * x.shape().numel(),
                b -> Lowering.launch(DropPathLaunch.prepareForward(b.modules(), b.act(out), b.act(shortcut), b.act(x),
                        gamma == null ? null : b.weight(gamma), b.weight(hyper), seed, block, rate))));
    }

    private void layerNorm(LayerNorm n) {
        Buffer x = act(n.x()), out = act(n.out());
        int tokens = Math.toIntExact(n.x().numel() / n.x().shape().channels());
        Buffer mean = scratch(n.out().name() + ".mean", DType.F32, Shape.of(tokens));
        Buffer rstd = scratch(n.out().name() + ".rstd", DType.F32, Shape.of(tokens));
        stats.put(List.of(n.x().id(), n.weight().id()), new Buffer[] {mean, rstd});
        Weight w = master(param(n.weight())), b = master(param(n.bias()));
        double eps = n.eps();
        steps.add(new Step(n.out().name() + " layernorm", "layernorm_forward", List.of(x), List.of(out, mean, rstd),
                x.bytes() + out.bytes() + mean.bytes() + rstd.bytes(), 8.0 * x.shape().numel(),
                bd -> Lowering.launch(LayerNormLaunch.prepareForward(bd.modules(), bd.act(out), bd.act(mean),
                        bd.act(rstd), bd.act(x), bd.weight(w), bd.weight(b), eps))));
    }

    private void meanLayerNorm(MeanHW m, LayerNorm n) {
        Buffer x = act(m.x()), out = act(n.out());
        // The pooled rows are the norm's input: f32 (Lowering's rule: a GEMM-free writer that a norm reads).
        Buffer pooled = buffer(m.out(), DType.F32);
        int images = m.out().shape().dim(0);
        Buffer mean = scratch(n.out().name() + ".mean", DType.F32, Shape.of(images));
        Buffer rstd = scratch(n.out().name() + ".rstd", DType.F32, Shape.of(images));
        stats.put(List.of(n.x().id(), n.weight().id()), new Buffer[] {mean, rstd});
        Weight w = master(param(n.weight())), b = master(param(n.bias()));
        double eps = n.eps();
        steps.add(new Step(n.out().name() + " mean+layernorm", "mean_hw_layernorm", List.of(x),
                List.of(out, pooled, mean, rstd), x.bytes() + out.bytes() + pooled.bytes(),
                x.shape().numel() + 8.0 * out.shape().numel(),
                bd -> Lowering.launch(MeanHwLayerNormLaunch.prepare(bd.modules(), bd.act(out), bd.act(pooled),
                        bd.act(mean), bd.act(rstd), bd.act(x), bd.weight(w), bd.weight(b), eps))));
    }

    private void gated(GatedDwConv g) {
        Buffer x = act(g.x()), out = act(g.out());
        int[] wd = g.weight().shape().dims();
        int c = wd[0], k = wd[2];
        Weight taps = master(param(g.weight())), bias = master(param(g.bias()));
        long tokens = out.shape().numel() / out.shape().channels();
        var fn = g.act();
        steps.add(new Step(g.out().name() + " gated dwconv", "gated_dwconv_forward", List.of(x), List.of(out),
                x.bytes() + out.bytes() + taps.bytes(), 2.0 * k * k * c * tokens + 10.0 * out.shape().numel(),
                b -> Lowering.launch(GatedDwConvLaunch.prepare(b.modules(), b.act(out), b.act(x), b.weight(taps),
                        b.weight(bias), c, k, fn))));
    }

    private void act(Act a) {
        Buffer x = act(a.x()), out = act(a.out());
        var fn = a.fn();
        steps.add(new Step(a.out().name() + " " + fn.name().toLowerCase(java.util.Locale.ROOT), "act_forward",
                List.of(x), List.of(out), x.bytes() + out.bytes(), 10.0 * x.shape().numel(),
                b -> Lowering.launch(ActLaunch.prepare(b.modules(), b.act(out), b.act(x), fn))));
    }

    /** The loss and, in the same kernels, its gradient: the CrossEntropyBackward that reads these logits. */
    private void crossEntropy(CrossEntropy c) {
        CrossEntropyBackward back = null;
        for (Op op : readers.getOrDefault(c.logits().id(), List.of())) {
            if (op instanceof CrossEntropyBackward b && b.labels() == c.labels() && needed.contains(op)) back = b;
        }
        if (back == null) throw unsupported(c, "the loss must be differentiated (its CrossEntropyBackward is missing)");
        if (!(producers.get(back.dLoss().id()) instanceof Fill seed) || back.labelSmoothing() != c.labelSmoothing()) {
            throw unsupported(back, "the loss gradient must be a constant seed (Autodiff's Fill) with the loss's smoothing");
        }
        done.add(back);
        done.add(seed);
        Buffer logits = act(c.logits()), labels = labels(c.labels());
        Buffer loss = buffer(c.out(), DType.F32);
        Buffer dLogits = gradient(back.dLogits(), c.logits());
        if (dLogits.dtype() != logits.dtype()) throw new IllegalStateException("dLogits must take the logits' dtype");
        int n = c.logits().shape().dim(0);
        Buffer rows = scratch(c.out().name() + ".rows", DType.F32, Shape.of(n));
        Buffer bad = scratch(c.out().name() + ".bad_labels", DType.I32, Shape.of(1));
        double s = c.labelSmoothing(), dLoss = seed.value();
        steps.add(new Step(c.out().name() + " cross-entropy", "cross_entropy", List.of(logits, labels),
                List.of(loss, dLogits, rows, bad), 2 * logits.bytes() + labels.bytes(), 8.0 * logits.shape().numel(),
                b -> {
                    CrossEntropyLaunch l = CrossEntropyLaunch.prepare(b.modules(), b.act(rows), b.act(loss), b.act(bad),
                            b.act(dLogits), b.act(logits), b.act(labels), s, dLoss);
                    return exec(l::launch, l::close);
                }));
    }

    // -------------------------------------------------------------------------------------------- backward

    private void linearBackwardInput(LinearBackwardInput b) {
        Linear f = forwardOf(b.weight(), Linear.class);
        int[] w = param(b.weight()).stored().dims();
        int outF = w[0], inF = w[1];
        Buffer dy = gemmOperand(b.dy());
        Buffer dx = gradient(b.dx(), f.x());
        int rows = Math.toIntExact(b.dy().numel() / b.weight().shape().dim(0));
        gemm(b.dx().name() + " linear dX", new RowMajorGemm(rows, inF, outF, false, false), Operand.of(dy),
                operand(param(b.weight())), null, Operand.of(dx), Epilogue.NONE, null);
    }

    private void linearBackwardWeight(LinearBackwardWeight b) {
        Param pw = gradOf.get(b.dWeight().id()), pb = gradOf.get(b.dBias().id());
        int[] w = pw.stored().dims();
        int outF = w[0], inF = w[1];
        Buffer dy = gemmOperand(b.dy()), x = act(b.x());
        int rows = Math.toIntExact(b.dy().numel() / pw.torchShape().dim(0));
        weightGradient(b.dWeight().name() + " linear dW", dy, x, rows, outF, inF, pw, pb);
    }

    private void convBackwardWeight(Conv2dBackwardWeight b) {
        ConvSaved s = cols.get(b.x().id());
        if (s == null) throw unsupported(b, "no forward convolution saved its im2col for " + b.x());
        Param pw = gradOf.get(b.dWeight().id()), pb = gradOf.get(b.dBias().id());
        int co = pw.torchShape().dims()[0];
        Buffer dy = gemmOperand(b.dy());
        weightGradient(b.dWeight().name() + " conv dW", dy, s.col(), s.rows(), co, s.colStride(), pw, pb);
    }

    /**
     * dW[out, in] = dY^T X into the flat gradient, db[out] = the column sums of dY from the BGRADB epilogue; where
     * cuBLASLt has no BGRADB kernel for these types the bias gradient is a second GEMM, ones[rows] dY.
     */
    private void weightGradient(String name, Buffer dy, Buffer x, int rows, int outF, int inF, Param pw, Param pb) {
        if (dy.dtype() != x.dtype()) {
            throw new IllegalStateException("cannot lower " + name + ": dY is " + dy.dtype() + " but X is " + x.dtype());
        }
        Weight dW = grad(pw), dB = grad(pb);
        if (WgradKernels.supports(outF, inF)) {
            // Narrow on both sides (the stem's first conv): too few output tiles for cuBLASLt's kernels, which ran
            // femto's 24 x 32 x 1.6M in 817 us on the H200; wgrad.cu sums it in per-block partials.
            Buffer ws = scratch(name + ".wgrad_ws", DType.F32,
                    Shape.of(Math.toIntExact(WgradKernels.workspaceFloats(rows, outF, inF))));
            steps.add(new Step(name, "wgrad " + outF + "x" + inF + "x" + rows, List.of(dy, x), List.of(ws),
                    dy.bytes() + x.bytes() + dW.bytes() + dB.bytes(), 2.0 * rows * outF * inF, b -> {
                WgradLaunch l = WgradLaunch.prepare(b.modules(), b.weight(dW), b.weight(dB), b.act(ws), b.act(dy),
                        b.act(x), rows, outF, inF);
                return exec(l::launch, l::close);
            }));
            wroteGradients(pw, pb);
            return;
        }
        Weight ones = ones(dy.dtype(), rows);
        RowMajorGemm shape = new RowMajorGemm(outF, inF, rows, true, false);
        LtMatmulSpec fused = LtMatmulSpec.of(shape, Lowering.cuda(dy.dtype()), Lowering.cuda(DType.F32),
                precision.compute(), Epilogue.BGRADB);
        LtMatmulSpec plain = LtMatmulSpec.of(shape, Lowering.cuda(dy.dtype()), Lowering.cuda(DType.F32),
                precision.compute(), Epilogue.NONE);
        LtMatmulSpec colSum = LtMatmulSpec.of(new RowMajorGemm(1, outF, rows, false, false), Lowering.cuda(dy.dtype()),
                Lowering.cuda(DType.F32), precision.compute(), Epilogue.NONE);
        // With a width that is not a multiple of 8 (base's 341 and 682 hidden), cuBLASLt's BGRADB kernels ran a
        // 128x341x401408 dW in 25 ms on the H200 (2026-12-04): such shapes take the plain GEMM and a ones-GEMM sum.
        boolean aligned = outF % 8 == 0 && inF % 8 == 0;
        steps.add(new Step(name, "cublasLtMatmul " + outF + "x" + inF + "x" + rows + (aligned ? " BGRADB" : " + bias sum"),
                List.of(dy, x), List.of(), dy.bytes() + x.bytes() + dW.bytes() + dB.bytes(), 2.0 * rows * outF * inF, b -> {
            long pdy = b.act(dy).address(), px = b.act(x).address();
            long pdw = b.weight(dW).address(), pdb = b.weight(dB).address(), ws = b.workspace();
            LtMatmul withBias = null;
            if (aligned) {
                try {
                    withBias = b.plan(fused);
                } catch (RuntimeException noBgrad) {
                    // no BGRADB algorithm for this shape: the plain GEMM and the bias sum below
                }
            }
            if (withBias != null) {
                LtMatmul p = withBias;
                return exec(s -> p.run(1f, pdy, px, 0f, 0, pdw, pdb, ws, s.handle()), p::close);
            }
            LtMatmul p = b.plan(plain), sum;
            try {
                sum = b.plan(colSum);
            } catch (RuntimeException e) {
                p.close();
                throw e;
            }
            long pones = b.weight(ones).address();
            return exec(s -> {
                p.run(1f, pdy, px, 0f, 0, pdw, 0, ws, s.handle());
                sum.run(1f, pones, pdy, 0f, 0, pdb, 0, ws, s.handle());
            }, () -> {
                p.close();
                sum.close();
            });
        }));
        wroteGradients(pw, pb);
    }

    private void convBackwardInput(Conv2dBackwardInput b) {
        Conv2d f = forwardOf(b.weight(), Conv2d.class);
        ConvSaved s = cols.get(f.x().id());
        int[] w = b.weight().shape().dims();
        int co = w[0], k = w[2];
        Buffer dy = gemmOperand(b.dy());
        Buffer dcol = scratch(b.dx().name() + ".dcol", t, Shape.of(s.rows(), s.colStride()));
        Buffer dx = gradient(b.dx(), f.x());
        gemm(b.dx().name() + " conv dcol", new RowMajorGemm(s.rows(), s.colStride(), co, false, false), Operand.of(dy),
                operand(param(b.weight())), null, Operand.of(dcol), Epilogue.NONE, null);
        int stride = b.stride(), pad = b.padding();
        steps.add(new Step(b.dx().name() + " col2im", "col2im_nhwc", List.of(dcol), List.of(dx), dcol.bytes() + dx.bytes(),
                0, bd -> Lowering.launch(Col2imLaunch.prepareNhwc(bd.modules(), bd.act(dx), bd.act(dcol), k, stride,
                        pad, false))));
    }

    private void layerNormBackward(LayerNormBackward b) {
        Buffer[] st = stats.get(List.of(b.x().id(), b.weight().id()));
        if (st == null) throw unsupported(b, "no forward LayerNorm saved statistics for " + b.x());
        Buffer x = act(b.x()), dy = grad(b.dy());
        // The residual pattern: dx meets the shortcut's gradient in one Add; add it in place into that gradient.
        Buffer dx = null;
        boolean accumulate = false;
        if (soleReader(b.dx()) instanceof Add a && needed.contains(a)) {
            Tensor other = a.a() == b.dx() ? a.b() : a.a();
            Buffer o = buffers.get(other.id());
            boolean othersDone = readers.getOrDefault(other.id(), List.of()).stream()
                    .allMatch(r -> r == a || position.get(r) < position.get(b));
            if (o != null && o.dtype() == DType.F32 && othersDone && !callerReads.contains(other.id())) {
                dx = o;
                accumulate = true;
                done.add(a);
                buffers.put(a.out().id(), o);
            } else {
                throw unsupported(a, "the sum of " + b.dx() + " and " + other + " cannot be accumulated in place");
            }
        }
        if (dx == null) dx = gradient(b.dx(), b.x());
        Param pw = gradOf.get(b.dWeight().id()), pb = gradOf.get(b.dBias().id());
        Weight dW = grad(pw), dB = grad(pb), w = master(param(b.weight()));
        int tokens = Math.toIntExact(b.x().numel() / b.x().shape().channels());
        int rowsPerBlock = LayerNormKernels.backwardRowsPerBlock(tokens, smCount);
        Buffer ws = scratch(b.dx().name() + ".ln_ws", DType.F32,
                Shape.of(Math.toIntExact(LayerNormBackwardLaunch.workspaceFloats(b.x().shape(), rowsPerBlock))));
        Buffer dxb = dx, mean = st[0], rstd = st[1];
        boolean acc = accumulate;
        List<Buffer> reads = acc ? List.of(x, dy, mean, rstd, dxb) : List.of(x, dy, mean, rstd);
        steps.add(new Step(b.dx().name() + " layernorm backward", "layernorm_backward", reads, List.of(dxb, ws),
                x.bytes() + dy.bytes() + dxb.bytes() * (acc ? 2 : 1), 12.0 * x.shape().numel(), bd -> {
            LayerNormBackwardLaunch l = LayerNormBackwardLaunch.prepare(bd.modules(), bd.act(dxb), bd.weight(dW),
                    bd.weight(dB), bd.act(ws), bd.act(dy), bd.act(x), bd.weight(w), bd.act(mean), bd.act(rstd), acc,
                    rowsPerBlock);
            return exec(l::launch, l::close);
        }));
        wroteGradients(pw, pb);
    }

    private void gatedBackward(GatedDwConvBackward b) {
        Buffer x = act(b.x()), dy = grad(b.dy());
        Buffer dx = gradient(b.dx(), b.x());
        int[] wd = b.weight().shape().dims();
        int c = wd[0], k = wd[2];
        Param pw = gradOf.get(b.dWeight().id()), pb = gradOf.get(b.dBias().id());
        Weight dW = grad(pw), dB = grad(pb), taps = master(param(b.weight())), bias = master(param(b.bias()));
        Buffer ws = scratch(b.dx().name() + ".gated_ws", DType.F32,
                Shape.of(Math.toIntExact(GatedDwConvBackwardLaunch.workspaceFloats(x.shape(), c, k))));
        var fn = b.act();
        long tokens = b.dy().numel() / b.dy().shape().channels();
        steps.add(new Step(b.dx().name() + " gated dwconv backward", "gated_dwconv_backward", List.of(x, dy),
                List.of(dx, ws), x.bytes() + dy.bytes() + dx.bytes(), 4.0 * k * k * c * tokens, bd -> {
            GatedDwConvBackwardLaunch l = GatedDwConvBackwardLaunch.prepare(bd.modules(), bd.act(dx), bd.weight(dW),
                    bd.weight(dB), bd.act(ws), bd.act(x), bd.act(dy), bd.weight(taps), bd.weight(bias), c, k, fn);
            return exec(l::launch, l::close);
        }));
        wroteGradients(pw, pb);
    }

    private void layerScaleBackward(LayerScaleBackward b) {
        Buffer x = act(b.x()), dy = grad(b.dy());
        Buffer dx = gradient(b.dx(), b.x());
        Weight dGamma = grad(gradOf.get(b.dGamma().id())), gamma = master(param(b.gamma()));
        Buffer ws = scratch(b.dx().name() + ".ls_ws", DType.F32,
                Shape.of(Math.toIntExact(LayerScaleBackwardLaunch.workspaceFloats(b.x().shape()))));
        steps.add(new Step(b.dx().name() + " layerscale backward", "layerscale_backward", List.of(x, dy), List.of(dx, ws),
                x.bytes() + dy.bytes() + dx.bytes(), 3.0 * x.shape().numel(), bd -> {
            LayerScaleBackwardLaunch l = LayerScaleBackwardLaunch.prepare(bd.modules(), bd.act(dx), bd.weight(dGamma),
                    bd.act(ws), bd.act(dy), bd.act(x), bd.weight(gamma), false);
            return exec(l::launch, l::close);
        }));
        wroteGradients(gradOf.get(b.dGamma().id()));
    }

    /**
     * The branch's gradient scale[n] * dy from the residual stream's f32 gradient: in the storage type for fc2's
     * backward GEMMs (so bf16 programs need no cast), in f32 for LayerScale's backward (which reads the stream's type).
     */
    private void dropPathBackward(DropPathBackward b) {
        DropPath f = dropPaths.get(b.block());
        if (f == null || f.seed() != b.seed() || f.rate() != b.rate() || f.step() != b.step()) {
            throw unsupported(b, "no forward DropPath of block " + b.block() + " with this seed, rate and step");
        }
        Buffer dy = grad(b.dy());
        Buffer dx = producers.get(f.x().id()) instanceof LayerScale ? buffer(b.dx(), DType.F32) : gradient(b.dx(), f.x());
        Weight hyper = flat(HYPER, DType.F64, AdamWKernels.HYPER_DOUBLES);
        long seed = b.seed();
        int block = b.block();
        double rate = b.rate();
        steps.add(new Step(b.dx().name() + " droppath backward", "droppath_backward", List.of(dy), List.of(dx),
                dy.bytes() + dx.bytes(), dy.shape().numel(),
                bd -> Lowering.launch(DropPathLaunch.prepareBackward(bd.modules(), bd.act(dx), bd.act(dy),
                        bd.weight(hyper), seed, block, rate))));
    }

    private void actBackward(ActBackward b) {
        Buffer x = act(b.x()), dy = grad(b.dy());
        Buffer dx = gradient(b.dx(), b.x());
        var fn = b.fn();
        steps.add(new Step(b.dx().name() + " act backward", "act_backward", List.of(x, dy), List.of(dx),
                x.bytes() + dy.bytes() + dx.bytes(), 12.0 * x.shape().numel(),
                bd -> Lowering.launch(ActBackwardLaunch.prepare(bd.modules(), bd.act(dx), bd.act(x), bd.act(dy), fn))));
    }

    private void meanBackward(MeanHWBackward b) {
        MeanHW f = null;
        for (int i = 0; i < forwardOps; i++) if (graph.ops().get(i) instanceof MeanHW m && m.x().shape().equals(b.dx().shape())) f = m;
        if (f == null) throw unsupported(b, "no forward MeanHW of shape " + b.dx().shape());
        Buffer dy = grad(b.dy());
        Buffer dx = gradient(b.dx(), f.x());
        steps.add(new Step(b.dx().name() + " mean backward", "mean_hw_backward", List.of(dy), List.of(dx),
                dy.bytes() + dx.bytes(), 0,
                bd -> Lowering.launch(MeanHwBackwardLaunch.prepare(bd.modules(), bd.act(dx), bd.act(dy)))));
    }

    /** The optimiser: gradient norm, clipping and the update of every parameter, as three launches. */
    private void adamw(AdamWKernels.Layout layout) {
        long n = layout.total();
        Weight p = flat(FLAT_MASTER, DType.F32, n), g = flat(FLAT_GRAD, DType.F32, n), m = flat(FLAT_M, DType.F32, n),
                v = flat(FLAT_V, DType.F32, n), p16 = t == DType.BF16 ? flat(FLAT_BF16, DType.BF16, n) : null;
        Weight hyper = flat(HYPER, DType.F64, AdamWKernels.HYPER_DOUBLES);
        Weight ws = flat(ADAMW_WORKSPACE, DType.F32, AdamWKernels.WORKSPACE_BYTES / 4);
        Weight norm = flat(GRAD_NORM, DType.F32, 1);
        long decayCount = layout.decayCount();
        steps.add(new Step("adamw", "adamw_step", List.of(), List.of(), 4 * n * 4 + 3 * n * 4 + (p16 == null ? 0 : 2 * n),
                12.0 * n, b -> {
            AdamWLaunch l = AdamWLaunch.prepare(b.modules(), b.weight(p), b.weight(g), b.weight(m), b.weight(v),
                    p16 == null ? null : b.weight(p16), b.weight(norm), b.weight(hyper), b.weight(ws), decayCount);
            return exec(l::launch, l::close);
        }));
    }

    // -------------------------------------------------------------------------------------------- GEMMs

    /** A GEMM operand: an activation buffer or a view of the flat state. */
    private record Operand(String name, DType dtype, long bytes, Buffer buffer, Weight weight) {
        static Operand of(Buffer b) { return new Operand(b.name(), b.dtype(), b.bytes(), b, null); }

        static Operand of(Weight w) { return new Operand(w.key(), w.dtype(), w.bytes(), null, w); }

        long address(Binder b) { return buffer != null ? b.act(buffer).address() : b.weight(weight).address(); }
    }

    private void gemm(String name, RowMajorGemm shape, Operand a, Operand w, Buffer residual, Operand d, Epilogue e,
                      Operand bias) {
        if (a.dtype() != w.dtype()) {
            throw new IllegalStateException("cannot lower " + name + ": " + a.name() + " is " + a.dtype() + " but "
                    + w.name() + " is " + w.dtype());
        }
        if (residual != null && residual.dtype() != d.dtype()) {
            throw new IllegalStateException("cannot lower " + name + ": the shortcut " + residual.name() + " is "
                    + residual.dtype() + " but the sum is " + d.dtype() + " (cuBLASLt reads C in D's type)");
        }
        LtMatmulSpec spec = LtMatmulSpec.of(shape, Lowering.cuda(a.dtype()), Lowering.cuda(d.dtype()),
                precision.compute(), e);
        List<Buffer> reads = new ArrayList<>();
        for (Operand o : new Operand[] {a, w}) if (o.buffer() != null) reads.add(o.buffer());
        if (residual != null) reads.add(residual);
        List<Buffer> writes = d.buffer() == null ? List.of() : List.of(d.buffer());
        long bytes = a.bytes() + w.bytes() + d.bytes() + (bias == null ? 0 : bias.bytes())
                + (residual == null ? 0 : residual.bytes());
        float beta = residual == null ? 0f : 1f;
        steps.add(new Step(name, "cublasLtMatmul " + shape.m() + "x" + shape.n() + "x" + shape.k(), reads, writes, bytes,
                2.0 * shape.m() * shape.n() * shape.k(), b -> {
            LtMatmul plan = b.plan(spec);
            long pa = a.address(b), pw = w.address(b), pd = d.address(b);
            long pc = residual == null ? 0 : b.act(residual).address(), pb = bias == null ? 0 : bias.address(b);
            long ws = b.workspace();
            return exec(s -> plan.run(1f, pa, pw, beta, pc, pd, pb, ws, s.handle()), plan::close);
        }));
    }

    /**
     * dy as a GEMM operand: itself, or (bf16 programs, an f32 residual gradient) its bf16 cast, made once per
     * gradient tensor. Keyed by the tensor, not the buffer: the residual stream's gradients share one buffer that
     * each block's LayerNorm backward adds into, so a cast keyed by buffer would hand an earlier block's fc2 the
     * stale gradient of a later one (bf16 gradients off by 40-100% on the H200, 2026-12-03).
     */
    private Buffer gemmOperand(Tensor dy) {
        Buffer g = grad(dy);
        if (g.dtype() == t) return g;
        Buffer c = bf16Casts.get(dy.id());
        if (c == null) {
            Buffer cast = scratch(dy.name() + ".bf16", t, g.shape());
            steps.add(new Step(dy.name() + " cast", "cast_f32_bf16", List.of(g), List.of(cast), g.bytes() + cast.bytes(), 0,
                    b -> Lowering.launch(CastLaunch.prepare(b.modules(), b.act(cast), b.act(g)))));
            bf16Casts.put(dy.id(), cast);
            c = cast;
        }
        return c;
    }

    // -------------------------------------------------------------------------------------------- buffers

    /** A forward activation, stored as the forward lowering stores it. */
    private Buffer act(Tensor x) {
        Buffer b = buffers.get(x.id());
        if (b != null) return b;
        DType d = Lowering.activationType(x, t, callerReads.contains(x.id()), forwardReaders.getOrDefault(x.id(), List.of()),
                producers.get(x.id()));
        return buffer(x, d);
    }

    /** A gradient already written by an earlier step. */
    private Buffer grad(Tensor g) {
        Buffer b = buffers.get(g.id());
        if (b == null) throw new IllegalStateException("gradient " + g + " is read before a step writes it");
        return b;
    }

    /**
     * The buffer for gradient {@code g} of forward tensor {@code of}: f32 in f32 programs; in bf16 programs f32 for
     * the residual stream (as its values are), the pooled rows and what the caller reads, else bf16 (the backward
     * GEMMs' operand; the kernels accumulate in f32 either way).
     */
    private Buffer gradient(Tensor g, Tensor of) {
        if (buffers.containsKey(g.id())) throw new IllegalStateException("gradient " + g + " written twice");
        DType d = t;
        Op producer = producers.get(of.id());
        boolean residual = producer instanceof Add
                || forwardReaders.getOrDefault(of.id(), List.of()).stream().anyMatch(op -> op instanceof Add);
        if (residual || producer instanceof MeanHW || callerReads.contains(of.id())) d = DType.F32;
        Shape wide = padded.get(of.id());
        if (wide != null) padded.put(g.id(), wide);
        return buffer(g, d);
    }

    private Buffer buffer(Tensor x, DType dtype) {
        if (x.role() == Tensor.Role.PARAMETER) throw new IllegalStateException(x + " is a parameter, not an activation");
        if (!x.dtype().isFloatingPoint()) throw new UnsupportedOperationException("the GPU trainer runs float graphs; " + x);
        Buffer b = buffers.get(x.id());
        if (b == null) {
            b = new Buffer(x.id(), x.name(), dtype, padded.getOrDefault(x.id(), x.shape()));
            buffers.put(x.id(), b);
            unique.put(b.id(), b);
        } else if (b.dtype() != dtype) {
            throw new IllegalStateException(x + " is needed both as " + b.dtype() + " and " + dtype);
        }
        return b;
    }

    private Buffer labels(Tensor labels) {
        Buffer b = buffers.get(labels.id());
        if (b == null) {
            if (labels.dtype() != DType.I32 || labels.role() != Tensor.Role.INPUT) {
                throw new UnsupportedOperationException("labels must be an I32 input, got " + labels);
            }
            b = new Buffer(labels.id(), labels.name(), DType.I32, labels.shape());
            buffers.put(labels.id(), b);
            unique.put(b.id(), b);
        }
        return b;
    }

    private Buffer scratch(String name, DType dtype, Shape shape) {
        Buffer b = new Buffer(scratchIds--, name, dtype, shape);
        unique.put(b.id(), b);
        return b;
    }

    // -------------------------------------------------------------------------------------------- flat state views

    private Param param(Tensor p) {
        Param par = params.get(p.id());
        if (par == null) throw new IllegalStateException(p + " is not a parameter of this graph");
        return par;
    }

    private Weight master(Param p) { return view(MASTER, p, DType.F32); }

    private Weight grad(Param p) { return view(GRAD, p, DType.F32); }

    /** The step just added writes these parameters' gradients. */
    private void wroteGradients(Param... ps) {
        for (Param p : ps) gradientWriters.put(p.name(), steps.size() - 1);
    }

    /** A weight as a GEMM operand: the bf16 copy in bf16 programs, the master otherwise. */
    private Operand operand(Param p) { return Operand.of(t == DType.BF16 ? view(BF16, p, DType.BF16) : master(p)); }

    /** A bias for the epilogue, in D's type. */
    private Operand bias(Param p, DType d) { return Operand.of(d == DType.BF16 ? view(BF16, p, DType.BF16) : master(p)); }

    private Weight view(String kind, Param p, DType d) {
        return weights.computeIfAbsent(kind + p.name(), k -> new Weight(k, d, p.stored(), null));
    }

    private Weight flat(String key, DType d, long n) {
        return weights.computeIfAbsent(key, k -> new Weight(k, d, Shape.of(Math.toIntExact(n)), null));
    }

    /** A vector of ones, as long as the longest bias-gradient fallback needs. */
    private Weight ones(DType d, int rows) {
        onesRows = Math.max(onesRows, rows);
        return weights.computeIfAbsent(ONES + d + ":" + rows, k -> new Weight(k, d, Shape.of(rows), null));
    }

    // -------------------------------------------------------------------------------------------- helpers

    private static Shape lastDim(Shape s, int n) {
        int[] d = s.dims().clone();
        d[d.length - 1] = n;
        return Shape.of(d);
    }

    private static Exec exec(Consumer<Stream> run, Runnable close) {
        return new Exec() {
            public void run(Stream s) { run.accept(s); }

            public void close() { close.run(); }
        };
    }

    private <T extends Op> T forwardOf(Tensor weight, Class<T> kind) {
        for (int i = 0; i < forwardOps; i++) {
            Op op = graph.ops().get(i);
            if (kind.isInstance(op) && op.inputs().contains(weight)) return kind.cast(op);
        }
        throw new IllegalStateException("no forward " + kind.getSimpleName() + " reads " + weight);
    }

    private Op soleForwardReader(Tensor x) {
        List<Op> c = forwardReaders.getOrDefault(x.id(), List.of());
        return c.size() == 1 && !callerReads.contains(x.id()) ? c.get(0) : null;
    }

    private Op soleReader(Tensor x) {
        List<Op> c = readers.getOrDefault(x.id(), List.of());
        return c.size() == 1 ? c.get(0) : null;
    }

    private static UnsupportedOperationException unsupported(Op op, String why) {
        return new UnsupportedOperationException("cannot lower " + op.kind() + " -> " + op.outputs() + " for training: " + why);
    }
}
