package dev.mambaout.graph;

import dev.mambaout.graph.ops.Act;
import dev.mambaout.graph.ops.Add;
import dev.mambaout.graph.ops.Conv2d;
import dev.mambaout.graph.ops.Conv2dBackwardWeight;
import dev.mambaout.graph.ops.CrossEntropy;
import dev.mambaout.graph.ops.DropPath;
import dev.mambaout.graph.ops.GatedDwConv;
import dev.mambaout.graph.ops.GatedDwConvBackward;
import dev.mambaout.graph.ops.LayerNorm;
import dev.mambaout.graph.ops.LayerNormBackward;
import dev.mambaout.graph.ops.LayerScale;
import dev.mambaout.graph.ops.LayerScaleBackward;
import dev.mambaout.graph.ops.Linear;
import dev.mambaout.graph.ops.LinearBackwardWeight;
import dev.mambaout.graph.ops.MeanHW;
import dev.mambaout.graph.ops.NchwToNhwc;
import dev.mambaout.graph.ops.Op;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode differentiation of a forward graph. Walks the schedule backwards; each forward op's backward rule
 * (the switch in {@link #backward}) appends backward ops that turn the gradient of its output into gradient
 * contributions for its operands. A tensor read by several ops collects several contributions, which are summed
 * with {@link Add} ops once every consumer has been visited (reverse topological order guarantees that happens
 * before its producer is visited).
 */
public final class Autodiff {
    private Autodiff() {}

    /** Forward graph + backward graph for d(loss)/d(every parameter and floating input). */
    public static TrainingGraph training(Graph forward, Tensor loss) {
        if (!forward.has(loss.name()) || !forward.tensor(loss.name()).equals(loss)) {
            throw new IllegalArgumentException("loss " + loss + " is not a tensor of the forward graph");
        }
        if (loss.numel() != 1 || !loss.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("loss must be a floating tensor with one element, got " + loss);
        }
        Set<Integer> needsGrad = new HashSet<>();
        for (Tensor t : forward.tensors()) {
            if (t.role() != Tensor.Role.COMPUTED && t.dtype().isFloatingPoint()) needsGrad.add(t.id());
        }
        for (Op op : forward.ops()) {
            if (op.inputs().stream().anyMatch(t -> needsGrad.contains(t.id()))) {
                for (Tensor t : op.outputs()) needsGrad.add(t.id());
            }
        }

        GraphBuilder b = GraphBuilder.extending(forward);
        Map<Integer, List<Tensor>> contributions = new HashMap<>();
        contributions.computeIfAbsent(loss.id(), k -> new ArrayList<>()).add(b.fill(1.0, loss.shape()));
        List<Op> schedule = forward.ops();
        for (int i = schedule.size() - 1; i >= 0; i--) {
            Op op = schedule.get(i);
            Tensor out = op.outputs().getFirst();
            List<Tensor> c = contributions.remove(out.id());
            if (c == null) continue;
            backward(b, op, sum(b, c), needsGrad, contributions);
        }

        Map<Tensor, Tensor> grads = new LinkedHashMap<>();
        for (Tensor t : forward.tensors()) {
            if (t.role() == Tensor.Role.COMPUTED || !t.dtype().isFloatingPoint()) continue;
            List<Tensor> c = contributions.get(t.id());
            Tensor g = c == null ? b.fill(0.0, t.shape()) : sum(b, c);
            grads.put(t, g);
            b.output(g);
        }
        b.output(loss);
        return new TrainingGraph(b.build(), loss, grads);
    }

    private static Tensor sum(GraphBuilder b, List<Tensor> c) {
        Tensor s = c.getFirst();
        for (int k = 1; k < c.size(); k++) s = b.add(s, c.get(k));
        return s;
    }

    private static void backward(GraphBuilder b, Op op, Tensor dy, Set<Integer> needs, Map<Integer, List<Tensor>> acc) {
        switch (op) {
            case NchwToNhwc f -> give(acc, needs, f.x(), () -> b.nhwcToNchw(dy));
            case Conv2d f -> {
                give(acc, needs, f.x(), () -> b.conv2dBackwardInput(f, dy));
                if (needs.contains(f.weight().id()) || needs.contains(f.bias().id())) {
                    Conv2dBackwardWeight w = b.conv2dBackwardWeight(f, dy);
                    give(acc, needs, f.weight(), w::dWeight);
                    give(acc, needs, f.bias(), w::dBias);
                }
            }
            case LayerNorm f -> {
                LayerNormBackward r = b.layerNormBackward(f, dy);
                give(acc, needs, f.x(), r::dx);
                give(acc, needs, f.weight(), r::dWeight);
                give(acc, needs, f.bias(), r::dBias);
            }
            case Linear f -> {
                give(acc, needs, f.x(), () -> b.linearBackwardInput(f, dy));
                if (needs.contains(f.weight().id()) || needs.contains(f.bias().id())) {
                    LinearBackwardWeight w = b.linearBackwardWeight(f, dy);
                    give(acc, needs, f.weight(), w::dWeight);
                    give(acc, needs, f.bias(), w::dBias);
                }
            }
            case GatedDwConv f -> {
                GatedDwConvBackward r = b.gatedDwConvBackward(f, dy);
                give(acc, needs, f.x(), r::dx);
                give(acc, needs, f.weight(), r::dWeight);
                give(acc, needs, f.bias(), r::dBias);
            }
            case Act f -> give(acc, needs, f.x(), () -> b.actBackward(f, dy));
            case LayerScale f -> {
                LayerScaleBackward r = b.layerScaleBackward(f, dy);
                give(acc, needs, f.x(), r::dx);
                give(acc, needs, f.gamma(), r::dGamma);
            }
            case DropPath f -> give(acc, needs, f.x(), () -> b.dropPathBackward(f, dy));
            // The gradient of a sum is the incoming gradient itself for both operands: no op, one shared tensor.
            case Add f -> {
                give(acc, needs, f.a(), () -> dy);
                give(acc, needs, f.b(), () -> dy);
            }
            case MeanHW f -> give(acc, needs, f.x(), () -> b.meanHWBackward(f, dy));
            case CrossEntropy f -> give(acc, needs, f.logits(), () -> b.crossEntropyBackward(f, dy));
            default -> throw new UnsupportedOperationException(
                    op.kind() + " lies on the path to the loss but has no backward rule (backward ops are not differentiated again)");
        }
    }

    private static void give(Map<Integer, List<Tensor>> acc, Set<Integer> needs, Tensor to,
                             java.util.function.Supplier<Tensor> gradient) {
        if (needs.contains(to.id())) acc.computeIfAbsent(to.id(), k -> new ArrayList<>()).add(gradient.get());
    }
}
