package dev.mambaout.graph.cpu;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.DropPathRng;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.Tensor;
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
import dev.mambaout.graph.ops.NhwcToNchw;
import dev.mambaout.graph.ops.Op;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a graph on the CPU: the executable specification every GPU kernel is checked against. Each tensor is a
 * fresh double[] written by its producer and dropped after its last reader (outputs are kept and returned), so
 * memory follows the live set rather than the whole graph.
 */
public final class CpuExecutor {
    private final Precision precision;

    public CpuExecutor(Precision precision) {
        this.precision = precision;
    }

    public Precision precision() { return precision; }

    /** Runs every op of the graph and returns its outputs. */
    public Results run(Graph graph, Bindings bindings) {
        for (Tensor t : graph.tensors()) {
            if (t.numel() > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(t + " has " + t.numel() + " elements, more than one Java array holds;"
                        + " the CPU executor cannot run this graph (use a smaller batch or image)");
            }
        }
        Map<Integer, double[]> vals = new HashMap<>();
        Map<Integer, int[]> labels = new HashMap<>();
        Map<Integer, Long> counters = new HashMap<>();
        bind(graph, bindings, vals, labels, counters);

        List<Op> ops = graph.ops();
        Map<Integer, Integer> lastUse = new HashMap<>();
        for (int s = 0; s < ops.size(); s++) for (Tensor t : ops.get(s).inputs()) lastUse.put(t.id(), s);
        Set<Integer> keep = new HashSet<>();
        for (Tensor t : graph.outputs()) keep.add(t.id());

        for (int s = 0; s < ops.size(); s++) {
            Op op = ops.get(s);
            for (Tensor t : op.outputs()) vals.put(t.id(), new double[(int) t.numel()]);
            execute(op, vals, labels, counters);
            if (precision == Precision.F32) for (Tensor t : op.outputs()) roundToFloat(vals.get(t.id()));
            for (Tensor t : op.inputs()) {
                if (lastUse.get(t.id()) == s && !keep.contains(t.id()) && t.role() == Tensor.Role.COMPUTED) vals.remove(t.id());
            }
        }
        Map<Integer, double[]> out = new HashMap<>();
        for (Tensor t : graph.outputs()) {
            double[] v = vals.get(t.id());
            if (v == null && labels.containsKey(t.id())) {
                v = java.util.Arrays.stream(labels.get(t.id())).asDoubleStream().toArray();
            }
            out.put(t.id(), v);
        }
        return new Results(graph, out);
    }

    private void bind(Graph graph, Bindings b, Map<Integer, double[]> vals, Map<Integer, int[]> labels,
                      Map<Integer, Long> counters) {
        Set<Integer> read = new HashSet<>();
        for (Op op : graph.ops()) for (Tensor t : op.inputs()) read.add(t.id());
        for (Tensor t : graph.outputs()) read.add(t.id());
        List<String> missing = new ArrayList<>();
        for (Tensor t : graph.tensors()) {
            if (t.role() == Tensor.Role.COMPUTED || !read.contains(t.id())) continue;
            if (!b.has(t.name())) {
                missing.add(t.name() + t.shape());
                continue;
            }
            if (t.dtype() == DType.I64) {
                Long c = b.counters.get(t.name());
                if (c == null) throw new IllegalArgumentException(t + " is a counter: bind it with putCounter");
                counters.put(t.id(), c);
                continue;
            }
            if (!t.dtype().isFloatingPoint()) {
                int[] v = b.labels.get(t.name());
                if (v == null) throw new IllegalArgumentException(t + " holds class labels: bind it with putLabels");
                checkLength(t, v.length);
                labels.put(t.id(), v);
                continue;
            }
            double[] v;
            if (b.doubles.containsKey(t.name())) {
                double[] src = b.doubles.get(t.name());
                checkLength(t, src.length);
                v = src.clone();
                if (precision == Precision.F32) roundToFloat(v);
            } else if (b.floats.containsKey(t.name())) {
                float[] src = b.floats.get(t.name());
                checkLength(t, src.length);
                v = new double[src.length];
                for (int i = 0; i < v.length; i++) v[i] = src[i];
            } else {
                throw new IllegalArgumentException(t + " is floating but was bound with putLabels");
            }
            vals.put(t.id(), v);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("unbound inputs/parameters (" + missing.size() + "): "
                    + missing.subList(0, Math.min(10, missing.size())) + (missing.size() > 10 ? " ..." : ""));
        }
    }

    private static void checkLength(Tensor t, int length) {
        if (length != t.numel()) {
            throw new IllegalArgumentException("value for " + t + " has " + length + " elements, the shape needs " + t.numel());
        }
    }

    private static void roundToFloat(double[] v) {
        for (int i = 0; i < v.length; i++) v[i] = (float) v[i];
    }

    private static void execute(Op op, Map<Integer, double[]> v, Map<Integer, int[]> labels, Map<Integer, Long> counters) {
        switch (op) {
            case NchwToNhwc o -> {
                Shape s = o.x().shape();
                CpuKernels.nchwToNhwc(v.get(o.x().id()), v.get(o.out().id()), s.dim(0), s.dim(1), s.dim(2), s.dim(3));
            }
            case NhwcToNchw o -> {
                Shape s = o.x().shape();
                CpuKernels.nhwcToNchw(v.get(o.x().id()), v.get(o.out().id()), s.dim(0), s.dim(1), s.dim(2), s.dim(3));
            }
            case Conv2d o -> {
                Shape xs = o.x().shape(), ys = o.out().shape();
                CpuKernels.conv2d(v.get(o.x().id()), v.get(o.weight().id()), v.get(o.bias().id()), v.get(o.out().id()),
                        xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3), ys.dim(3), o.weight().shape().dim(2),
                        o.stride(), o.padding(), ys.dim(1), ys.dim(2));
            }
            case Conv2dBackwardInput o -> {
                Shape xs = o.dx().shape(), ys = o.dy().shape();
                CpuKernels.conv2dBackwardInput(v.get(o.dy().id()), v.get(o.weight().id()), v.get(o.dx().id()),
                        xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3), ys.dim(3), o.weight().shape().dim(2),
                        o.stride(), o.padding(), ys.dim(1), ys.dim(2));
            }
            case Conv2dBackwardWeight o -> {
                Shape xs = o.x().shape(), ys = o.dy().shape();
                CpuKernels.conv2dBackwardWeight(v.get(o.x().id()), v.get(o.dy().id()), v.get(o.dWeight().id()),
                        v.get(o.dBias().id()), xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3), ys.dim(3),
                        o.dWeight().shape().dim(2), o.stride(), o.padding(), ys.dim(1), ys.dim(2));
            }
            case LayerNorm o -> {
                Shape s = o.x().shape();
                CpuKernels.layerNorm(v.get(o.x().id()), v.get(o.weight().id()), v.get(o.bias().id()), o.eps(),
                        v.get(o.out().id()), (int) s.tokens(), s.dim(-1));
            }
            case LayerNormBackward o -> {
                Shape s = o.x().shape();
                CpuKernels.layerNormBackward(v.get(o.x().id()), v.get(o.weight().id()), v.get(o.dy().id()), o.eps(),
                        v.get(o.dx().id()), v.get(o.dWeight().id()), v.get(o.dBias().id()), (int) s.tokens(), s.dim(-1));
            }
            case Linear o -> {
                Shape s = o.x().shape();
                CpuKernels.linear(v.get(o.x().id()), v.get(o.weight().id()), v.get(o.bias().id()), v.get(o.out().id()),
                        (int) s.tokens(), s.dim(-1), o.out().shape().dim(-1));
            }
            case LinearBackwardInput o -> {
                Shape s = o.dx().shape();
                CpuKernels.linearBackwardInput(v.get(o.dy().id()), v.get(o.weight().id()), v.get(o.dx().id()),
                        (int) s.tokens(), s.dim(-1), o.dy().shape().dim(-1));
            }
            case LinearBackwardWeight o -> {
                Shape s = o.x().shape();
                CpuKernels.linearBackwardWeight(v.get(o.x().id()), v.get(o.dy().id()), v.get(o.dWeight().id()),
                        v.get(o.dBias().id()), (int) s.tokens(), s.dim(-1), o.dy().shape().dim(-1));
            }
            case GatedDwConv o -> {
                Shape s = o.x().shape(), ws = o.weight().shape();
                CpuKernels.gatedDwConv(v.get(o.x().id()), v.get(o.weight().id()), v.get(o.bias().id()), o.act(),
                        v.get(o.out().id()), s.dim(0), s.dim(1), s.dim(2), s.dim(3) / 2, ws.dim(0), ws.dim(2));
            }
            case GatedDwConvBackward o -> {
                Shape s = o.x().shape(), ws = o.weight().shape();
                CpuKernels.gatedDwConvBackward(v.get(o.x().id()), v.get(o.weight().id()), v.get(o.bias().id()),
                        v.get(o.dy().id()), o.act(), v.get(o.dx().id()), v.get(o.dWeight().id()), v.get(o.dBias().id()),
                        s.dim(0), s.dim(1), s.dim(2), s.dim(3) / 2, ws.dim(0), ws.dim(2));
            }
            case Act o -> CpuKernels.activation(v.get(o.x().id()), o.fn(), v.get(o.out().id()));
            case ActBackward o -> CpuKernels.activationBackward(v.get(o.x().id()), v.get(o.dy().id()), o.fn(), v.get(o.dx().id()));
            case LayerScale o -> {
                Shape s = o.x().shape();
                CpuKernels.layerScale(v.get(o.x().id()), v.get(o.gamma().id()), v.get(o.out().id()), (int) s.tokens(), s.dim(-1));
            }
            case LayerScaleBackward o -> {
                Shape s = o.x().shape();
                CpuKernels.layerScaleBackward(v.get(o.x().id()), v.get(o.gamma().id()), v.get(o.dy().id()),
                        v.get(o.dx().id()), v.get(o.dGamma().id()), (int) s.tokens(), s.dim(-1));
            }
            case Add o -> CpuKernels.add(v.get(o.a().id()), v.get(o.b().id()), v.get(o.out().id()));
            case MeanHW o -> {
                Shape s = o.x().shape();
                CpuKernels.meanHW(v.get(o.x().id()), v.get(o.out().id()), s.dim(0), s.dim(1) * s.dim(2), s.dim(3));
            }
            case MeanHWBackward o -> {
                Shape s = o.dx().shape();
                CpuKernels.meanHWBackward(v.get(o.dy().id()), v.get(o.dx().id()), s.dim(0), s.dim(1) * s.dim(2), s.dim(3));
            }
            case CrossEntropy o -> {
                int[] y = labels(o.labels(), labels, o.logits().shape().dim(1));
                Shape s = o.logits().shape();
                v.get(o.out().id())[0] = CpuKernels.crossEntropy(v.get(o.logits().id()), y, o.labelSmoothing(), s.dim(0), s.dim(1));
            }
            case CrossEntropyBackward o -> {
                int[] y = labels(o.labels(), labels, o.logits().shape().dim(1));
                Shape s = o.logits().shape();
                CpuKernels.crossEntropyBackward(v.get(o.logits().id()), y, v.get(o.dLoss().id())[0], o.labelSmoothing(),
                        v.get(o.dLogits().id()), s.dim(0), s.dim(1));
            }
            case Fill o -> java.util.Arrays.fill(v.get(o.out().id()), o.value());
            case DropPath o -> CpuKernels.scaleSamples(v.get(o.x().id()), v.get(o.out().id()),
                    DropPathRng.sampleScales(o.seed(), counters.get(o.step().id()), o.block(), o.x().shape().dim(0), o.rate()));
            case DropPathBackward o -> CpuKernels.scaleSamples(v.get(o.dy().id()), v.get(o.dx().id()),
                    DropPathRng.sampleScales(o.seed(), counters.get(o.step().id()), o.block(), o.dy().shape().dim(0), o.rate()));
        }
    }

    private static int[] labels(Tensor t, Map<Integer, int[]> labels, int classes) {
        int[] y = labels.get(t.id());
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= classes) {
                throw new IllegalArgumentException(t.name() + "[" + i + "] = " + y[i] + " is not a class index in [0, " + classes + ")");
            }
        }
        return y;
    }
}
