package dev.mambaout.graph;

import dev.mambaout.graph.ops.Op;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScheduleTest {

    @Test
    void shuffledOpsAreScheduledTopologicallyAndBuilderOrderIsKept() {
        NetFixture net = NetFixture.build(DType.F32, 1, 16, 3, 4, List.of(1, 1), List.of(4, 8), 2.0, 3,
                dev.mambaout.graph.ops.Activation.GELU, true, 0.0);
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        Graph g = t.graph();
        List<Op> shuffled = new ArrayList<>(g.ops());
        Collections.shuffle(shuffled, new java.util.Random(3));
        Graph again = new Graph(g.tensors(), shuffled, new LinkedHashSet<>(g.outputs()));
        Set<Integer> ready = new java.util.HashSet<>();
        for (Tensor x : g.tensors()) if (x.role() != Tensor.Role.COMPUTED) ready.add(x.id());
        for (Op op : again.ops()) {
            for (Tensor in : op.inputs()) assertTrue(ready.contains(in.id()), op.kind() + " scheduled before its operand " + in);
            for (Tensor out : op.outputs()) ready.add(out.id());
        }
        assertEquals(g.ops().size(), again.ops().size());
        // The builder appended ops in a valid order, which the schedule keeps exactly.
        Graph rebuilt = new Graph(g.tensors(), g.ops(), new LinkedHashSet<>(g.outputs()));
        assertEquals(g.ops(), rebuilt.ops());
    }

    @Test
    void cyclesAndDoubleProducersAreRejected() {
        GraphBuilder b = new GraphBuilder(DType.F32);
        Tensor x = b.input("x", 3);
        Tensor y = b.gelu(x);
        Graph g = b.build();
        Op op = g.producer(y);
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> new Graph(g.tensors(), List.of(op, op), Set.of(y)));
        assertTrue(twice.getMessage().contains("produced by both"), twice.getMessage());
        // a = gelu(b), b = gelu(a): each waits for the other.
        Tensor a = new Tensor(10, "a", Shape.of(3), DType.F32, Tensor.Role.COMPUTED);
        Tensor c = new Tensor(11, "c", Shape.of(3), DType.F32, Tensor.Role.COMPUTED);
        List<Tensor> ts = List.of(a, c);
        List<Op> cyc = List.of(new dev.mambaout.graph.ops.Act(c, dev.mambaout.graph.ops.Activation.GELU, a),
                new dev.mambaout.graph.ops.Act(a, dev.mambaout.graph.ops.Activation.GELU, c));
        IllegalArgumentException cycle = assertThrows(IllegalArgumentException.class, () -> new Graph(ts, cyc, Set.of()));
        assertTrue(cycle.getMessage().contains("cycle"), cycle.getMessage());
    }
}
