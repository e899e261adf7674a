package dev.mambaout.graph;

import dev.mambaout.graph.ops.Act;
import dev.mambaout.graph.ops.ActBackward;
import dev.mambaout.graph.ops.Activation;
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
import dev.mambaout.graph.ops.NhwcToNchw;
import dev.mambaout.graph.ops.Op;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Builds a {@link Graph} op by op, inferring every output shape when the op is added, so a wrong shape fails at
 * the line that made it with a {@link ShapeException} naming the op and the shapes. Forward ops are public; the
 * backward ops are added by {@link Autodiff} through the package-private methods.
 */
public final class GraphBuilder {
    private final DType floatType;
    private final List<Tensor> tensors = new ArrayList<>();
    private final List<Op> ops = new ArrayList<>();
    private final Set<Tensor> outputs = new LinkedHashSet<>();
    private final Set<String> names = new HashSet<>();
    private final Map<Integer, Tensor> byId = new HashMap<>();
    private int nextId;

    /** @param floatType dtype recorded on every floating tensor (F64, F32, F16 or BF16) */
    public GraphBuilder(DType floatType) {
        if (!floatType.isFloatingPoint()) throw new IllegalArgumentException("graph dtype must be floating, got " + floatType);
        this.floatType = floatType;
    }

    /** A builder that continues an existing graph: same tensors (same ids), same ops, same outputs. */
    public static GraphBuilder extending(Graph base) {
        DType ft = base.tensors().stream().map(Tensor::dtype).filter(DType::isFloatingPoint).findFirst().orElse(DType.F32);
        GraphBuilder b = new GraphBuilder(ft);
        for (Tensor t : base.tensors()) {
            b.tensors.add(t);
            b.byId.put(t.id(), t);
            b.names.add(t.name());
            b.nextId = Math.max(b.nextId, t.id() + 1);
        }
        b.ops.addAll(base.ops());
        b.outputs.addAll(base.outputs());
        return b;
    }

    public DType floatType() { return floatType; }

    // ---- declarations ------------------------------------------------------------------------------------------

    /** A floating input the caller binds at run time (e.g. the NCHW image batch). */
    public Tensor input(String name, int... dims) {
        return declare(name, Shape.of(dims), floatType, Tensor.Role.INPUT);
    }

    /** Integer class labels [n] (I32). */
    public Tensor labels(String name, int n) {
        return declare(name, Shape.of(n), DType.I32, Tensor.Role.INPUT);
    }

    /** An I64 [1] counter the caller binds per run (the training step that keys {@link #dropPath}'s masks). */
    public Tensor counter(String name) {
        return declare(name, Shape.of(1), DType.I64, Tensor.Role.INPUT);
    }

    /** A learnable tensor, bound by name at run time; PyTorch's shape. */
    public Tensor parameter(String name, int... dims) {
        return declare(name, Shape.of(dims), floatType, Tensor.Role.PARAMETER);
    }

    /** Marks t as a result the executor must return; order of marking is kept. */
    public Tensor output(Tensor t) {
        owned(t, "output");
        outputs.add(t);
        return t;
    }

    public Graph build() {
        return new Graph(tensors, ops, outputs);
    }

    private Tensor declare(String name, Shape shape, DType dtype, Tensor.Role role) {
        Objects.requireNonNull(name, "name");
        if (!names.add(name)) throw new IllegalArgumentException("a tensor named '" + name + "' already exists in this graph");
        Tensor t = new Tensor(nextId++, name, shape, dtype, role);
        tensors.add(t);
        byId.put(t.id(), t);
        return t;
    }

    private Tensor computed(String kind, Shape shape) {
        String base = kind.toLowerCase(java.util.Locale.ROOT) + "_" + nextId;
        String name = base;
        for (int k = 1; names.contains(name); k++) name = base + "_" + k;
        return declare(name, shape, floatType, Tensor.Role.COMPUTED);
    }

    private <T extends Op> T add(T op) {
        ops.add(op);
        return op;
    }

    // ---- forward ops -------------------------------------------------------------------------------------------

    /** [N,C,H,W] -> [N,H,W,C]. */
    public Tensor nchwToNhwc(Tensor x) {
        check("NchwToNhwc", x.shape().rank() == 4, "x must be rank 4 [N,C,H,W]", x);
        floats("NchwToNhwc", x);
        int[] d = x.shape().dims();
        return add(new NchwToNhwc(x, computed("NchwToNhwc", Shape.of(d[0], d[2], d[3], d[1])))).out();
    }

    /** NHWC convolution; kernel size from weight [Cout,Cin,k,k]. */
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        String op = "Conv2d";
        floats(op, x, weight, bias);
        Shape xs = x.shape(), ws = weight.shape();
        check(op, xs.rank() == 4, "x must be NHWC rank 4", x, weight, bias);
        check(op, ws.rank() == 4 && ws.dim(2) == ws.dim(3), "weight must be [Cout,Cin,k,k] with a square kernel", x, weight, bias);
        check(op, ws.dim(1) == xs.dim(3), "weight's Cin (dim 1) must equal x's channels (dim 3)", x, weight, bias);
        check(op, bias.shape().equals(Shape.of(ws.dim(0))), "bias must be [Cout]", x, weight, bias);
        check(op, stride >= 1 && padding >= 0, "stride " + stride + " must be >= 1 and padding " + padding + " >= 0", x, weight, bias);
        int k = ws.dim(2);
        check(op, xs.dim(1) + 2 * padding >= k && xs.dim(2) + 2 * padding >= k,
                "padded input is smaller than the kernel " + k + " (padding " + padding + ")", x, weight, bias);
        int ho = (xs.dim(1) + 2 * padding - k) / stride + 1;
        int wo = (xs.dim(2) + 2 * padding - k) / stride + 1;
        return add(new Conv2d(x, weight, bias, stride, padding, computed(op, Shape.of(xs.dim(0), ho, wo, ws.dim(0))))).out();
    }

    /** LayerNorm over the last dim of x (any rank >= 1), affine weight and bias [C]. */
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        String op = "LayerNorm";
        floats(op, x, weight, bias);
        check(op, x.shape().rank() >= 1, "x must have rank >= 1", x, weight, bias);
        Shape c = Shape.of(x.shape().dim(-1));
        check(op, weight.shape().equals(c) && bias.shape().equals(c), "weight and bias must be [C] = " + c, x, weight, bias);
        check(op, eps > 0 && Double.isFinite(eps), "eps " + eps + " must be positive", x, weight, bias);
        return add(new LayerNorm(x, weight, bias, eps, computed(op, x.shape()))).out();
    }

    /** y = x W^T + b over the last dim; weight [out, in]. */
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        String op = "Linear";
        floats(op, x, weight, bias);
        Shape ws = weight.shape();
        check(op, x.shape().rank() >= 1, "x must have rank >= 1", x, weight, bias);
        check(op, ws.rank() == 2 && ws.dim(1) == x.shape().dim(-1), "weight must be [out, in] with in = x's last dim", x, weight, bias);
        check(op, bias.shape().equals(Shape.of(ws.dim(0))), "bias must be [out]", x, weight, bias);
        int[] d = x.shape().dims();
        d[d.length - 1] = ws.dim(0);
        return add(new Linear(x, weight, bias, computed(op, Shape.of(d)))).out();
    }

    /** act(g) * cat(i, dwconv(c)) from fc1's output [N,H,W,2h]; weight [c,1,k,k] (k odd), bias [c]. */
    public Tensor gatedDwConv(Tensor x, Tensor weight, Tensor bias, Activation act) {
        String op = "GatedDwConv";
        floats(op, x, weight, bias);
        Objects.requireNonNull(act, "act");
        Shape xs = x.shape(), ws = weight.shape();
        check(op, xs.rank() == 4 && xs.dim(3) % 2 == 0, "x must be NHWC with an even channel count 2*hidden", x, weight, bias);
        int hidden = xs.dim(3) / 2;
        check(op, ws.rank() == 4 && ws.dim(1) == 1 && ws.dim(2) == ws.dim(3) && ws.dim(2) % 2 == 1,
                "weight must be depthwise [c,1,k,k] with k odd", x, weight, bias);
        check(op, ws.dim(0) <= hidden, "conv channels " + ws.dim(0) + " must not exceed hidden " + hidden, x, weight, bias);
        check(op, bias.shape().equals(Shape.of(ws.dim(0))), "bias must be [c]", x, weight, bias);
        return add(new GatedDwConv(x, weight, bias, act, computed(op, Shape.of(xs.dim(0), xs.dim(1), xs.dim(2), hidden)))).out();
    }

    public Tensor gelu(Tensor x) { return activation(x, Activation.GELU); }

    public Tensor silu(Tensor x) { return activation(x, Activation.SILU); }

    public Tensor activation(Tensor x, Activation fn) {
        floats("Act", x);
        Objects.requireNonNull(fn, "fn");
        return add(new Act(x, fn, computed("Act", x.shape()))).out();
    }

    /** x * gamma per last-dim channel. */
    public Tensor layerScale(Tensor x, Tensor gamma) {
        String op = "LayerScale";
        floats(op, x, gamma);
        check(op, x.shape().rank() >= 1 && gamma.shape().equals(Shape.of(x.shape().dim(-1))), "gamma must be [C] = x's last dim", x, gamma);
        return add(new LayerScale(x, gamma, computed(op, x.shape()))).out();
    }

    /**
     * Stochastic depth of x [N, ...] per sample: kept with probability 1 - rate and scaled by 1 / (1 - rate), the
     * mask drawn from (seed, step's value, block, sample); step is a {@link #counter}.
     */
    public Tensor dropPath(Tensor x, Tensor step, double rate, long seed, int block) {
        String op = "DropPath";
        floats(op, x);
        owned(step, op);
        check(op, x.shape().rank() >= 1, "x must have a sample dimension", x, step);
        check(op, step.dtype() == DType.I64 && step.shape().equals(Shape.of(1)),
                "step must be an I64 [1] counter (declare it with counter(name))", x, step);
        check(op, rate > 0 && rate < 1, "rate " + rate + " must lie in (0, 1) (rate 0 is no op at all)", x, step);
        check(op, block >= 0, "block " + block + " must be >= 0", x, step);
        return add(new DropPath(x, step, rate, seed, block, computed(op, x.shape()))).out();
    }

    public Tensor add(Tensor a, Tensor b) {
        floats("Add", a, b);
        check("Add", a.shape().equals(b.shape()), "operands must have equal shapes", a, b);
        return add(new Add(a, b, computed("Add", a.shape()))).out();
    }

    /** [N,H,W,C] -> [N,C]. */
    public Tensor meanHW(Tensor x) {
        floats("MeanHW", x);
        check("MeanHW", x.shape().rank() == 4, "x must be NHWC rank 4", x);
        return add(new MeanHW(x, computed("MeanHW", Shape.of(x.shape().dim(0), x.shape().dim(3))))).out();
    }

    /** Mean cross-entropy of logits [N,K] against I32 labels [N], with PyTorch's label smoothing in [0,1]. */
    public Tensor crossEntropy(Tensor logits, Tensor labels, double labelSmoothing) {
        String op = "CrossEntropy";
        owned(logits, op);
        owned(labels, op);
        check(op, logits.dtype().isFloatingPoint() && logits.shape().rank() == 2, "logits must be floating [N,K]", logits, labels);
        check(op, labels.dtype() == DType.I32 && labels.shape().equals(Shape.of(logits.shape().dim(0))),
                "labels must be I32 [N] with N = logits' dim 0 (declare them with labels(name, n))", logits, labels);
        check(op, labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing " + labelSmoothing + " must lie in [0, 1]", logits, labels);
        return add(new CrossEntropy(logits, labels, labelSmoothing, computed(op, Shape.of()))).out();
    }

    // ---- backward ops (Autodiff) -------------------------------------------------------------------------------

    Tensor fill(double value, Shape shape) {
        return add(new Fill(value, computed("Fill", shape))).out();
    }

    Tensor nhwcToNchw(Tensor x) {
        int[] d = x.shape().dims();
        return add(new NhwcToNchw(x, computed("NhwcToNchw", Shape.of(d[0], d[3], d[1], d[2])))).out();
    }

    Tensor conv2dBackwardInput(Conv2d f, Tensor dy) {
        return add(new Conv2dBackwardInput(dy, f.weight(), f.stride(), f.padding(), computed("Conv2dBackwardInput", f.x().shape()))).dx();
    }

    Conv2dBackwardWeight conv2dBackwardWeight(Conv2d f, Tensor dy) {
        return add(new Conv2dBackwardWeight(f.x(), dy, f.stride(), f.padding(),
                computed("Conv2dBackwardWeight", f.weight().shape()), computed("Conv2dBackwardWeight", f.bias().shape())));
    }

    LayerNormBackward layerNormBackward(LayerNorm f, Tensor dy) {
        return add(new LayerNormBackward(f.x(), f.weight(), dy, f.eps(), computed("LayerNormBackward", f.x().shape()),
                computed("LayerNormBackward", f.weight().shape()), computed("LayerNormBackward", f.bias().shape())));
    }

    Tensor linearBackwardInput(Linear f, Tensor dy) {
        return add(new LinearBackwardInput(dy, f.weight(), computed("LinearBackwardInput", f.x().shape()))).dx();
    }

    LinearBackwardWeight linearBackwardWeight(Linear f, Tensor dy) {
        return add(new LinearBackwardWeight(f.x(), dy, computed("LinearBackwardWeight", f.weight().shape()),
                computed("LinearBackwardWeight", f.bias().shape())));
    }

    GatedDwConvBackward gatedDwConvBackward(GatedDwConv f, Tensor dy) {
        return add(new GatedDwConvBackward(f.x(), f.weight(), f.bias(), dy, f.act(), computed("GatedDwConvBackward", f.x().shape()),
                computed("GatedDwConvBackward", f.weight().shape()), computed("GatedDwConvBackward", f.bias().shape())));
    }

    Tensor actBackward(Act f, Tensor dy) {
        return add(new ActBackward(f.x(), dy, f.fn(), computed("ActBackward", f.x().shape()))).dx();
    }

    LayerScaleBackward layerScaleBackward(LayerScale f, Tensor dy) {
        return add(new LayerScaleBackward(f.x(), f.gamma(), dy, computed("LayerScaleBackward", f.x().shape()),
                computed("LayerScaleBackward", f.gamma().shape())));
    }

    Tensor dropPathBackward(DropPath f, Tensor dy) {
        return add(new DropPathBackward(dy, f.step(), f.rate(), f.seed(), f.block(), computed("DropPathBackward", f.x().shape()))).dx();
    }

    Tensor meanHWBackward(MeanHW f, Tensor dy) {
        return add(new MeanHWBackward(dy, computed("MeanHWBackward", f.x().shape()))).dx();
    }

    Tensor crossEntropyBackward(CrossEntropy f, Tensor dLoss) {
        return add(new CrossEntropyBackward(f.logits(), f.labels(), dLoss, f.labelSmoothing(),
                computed("CrossEntropyBackward", f.logits().shape()))).dLogits();
    }

    // ---- checks ------------------------------------------------------------------------------------------------

    private void owned(Tensor t, String op) {
        Objects.requireNonNull(t, op + ": tensor is null");
        if (!t.equals(byId.get(t.id()))) {
            throw new IllegalArgumentException(op + ": tensor " + t + " does not belong to this graph");
        }
    }

    private void floats(String op, Tensor... ts) {
        for (Tensor t : ts) {
            owned(t, op);
            if (!t.dtype().isFloatingPoint()) {
                throw new ShapeException(op + ": operand " + t + " must be floating point");
            }
        }
    }

    private static void check(String op, boolean ok, String what, Tensor... operands) {
        if (!ok) {
            throw new ShapeException(op + ": " + what + "; got " + Stream.of(operands)
                    .map(t -> t.name() + " " + t.shape()).collect(Collectors.joining(", ")));
        }
    }
}
