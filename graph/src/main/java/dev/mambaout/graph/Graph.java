package dev.mambaout.graph;

import dev.mambaout.graph.ops.Op;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * An immutable static graph: its ops in a topological schedule, the tensors they touch and the tensors marked as
 * outputs. The schedule is computed here (Kahn's algorithm, ties broken by insertion order so a builder's order is
 * kept exactly when it is already topological), so any producer of op lists gets a valid order and a clear error for a
 * cycle, a tensor with two producers or a tensor nobody produces.
 */
public final class Graph {
    private final List<Op> ops;
    private final List<Tensor> tensors;
    private final List<Tensor> outputs;
    private final Map<Integer, Op> producers;
    private final Map<String, Tensor> byName;

    Graph(List<Tensor> tensors, List<Op> ops, Set<Tensor> outputs) {
        this.tensors = List.copyOf(tensors);
        this.outputs = List.copyOf(outputs);
        Map<String, Tensor> names = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            if (names.put(t.name(), t) != null) throw new IllegalArgumentException("two tensors are named '" + t.name() + "'");
        }
        this.byName = Collections.unmodifiableMap(names);
        Map<Integer, Op> prod = new HashMap<>();
        for (Op op : ops) {
            for (Tensor t : op.outputs()) {
                if (t.role() != Tensor.Role.COMPUTED) {
                    throw new IllegalArgumentException(op.kind() + " writes " + t + " which is a bound " + t.role());
                }
                Op prev = prod.put(t.id(), op);
                if (prev != null) throw new IllegalArgumentException(t + " is produced by both " + prev.kind() + " and " + op.kind());
            }
        }
        this.producers = Collections.unmodifiableMap(prod);
        this.ops = schedule(ops, prod);
        for (Tensor t : outputs) {
            if (t.role() == Tensor.Role.COMPUTED && !prod.containsKey(t.id())) {
                throw new IllegalArgumentException("output " + t + " is produced by no op");
            }
        }
    }

    private static List<Op> schedule(List<Op> ops, Map<Integer, Op> producers) {
        Map<Op, Integer> index = new HashMap<>();
        for (int i = 0; i < ops.size(); i++) index.put(ops.get(i), i);
        int[] pending = new int[ops.size()];
        List<List<Integer>> consumers = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) consumers.add(new ArrayList<>());
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            Set<Integer> deps = new LinkedHashSet<>();
            for (Tensor t : op.inputs()) {
                if (t.role() != Tensor.Role.COMPUTED) continue;
                Op p = producers.get(t.id());
                if (p == null) throw new IllegalArgumentException(op.kind() + " reads " + t + " which no op produces");
                deps.add(index.get(p));
            }
            pending[i] = deps.size();
            for (int d : deps) consumers.get(d).add(i);
        }
        // Smallest ready index first: an already topological list (every builder's) comes out unchanged, so the
        // author's order, which the planner's lifetimes follow, is kept; other lists get a valid order close to it.
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (int i = 0; i < ops.size(); i++) if (pending[i] == 0) ready.add(i);
        List<Op> order = new ArrayList<>(ops.size());
        while (!ready.isEmpty()) {
            int i = ready.poll();
            order.add(ops.get(i));
            for (int c : consumers.get(i)) if (--pending[c] == 0) ready.add(c);
        }
        if (order.size() != ops.size()) {
            throw new IllegalArgumentException("the ops form a cycle: " + (ops.size() - order.size()) + " ops never become ready");
        }
        return List.copyOf(order);
    }

    /** The ops in execution order. */
    public List<Op> ops() { return ops; }

    /** Every tensor of the graph, in creation order. */
    public List<Tensor> tensors() { return tensors; }

    public List<Tensor> outputs() { return outputs; }

    public List<Tensor> inputs() {
        return tensors.stream().filter(t -> t.role() == Tensor.Role.INPUT).toList();
    }

    public List<Tensor> parameters() {
        return tensors.stream().filter(t -> t.role() == Tensor.Role.PARAMETER).toList();
    }

    /** The tensor of that name; throws naming a few known names when there is none. */
    public Tensor tensor(String name) {
        Tensor t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor named '" + name + "' in this graph (" + byName.size()
                    + " tensors, e.g. " + byName.keySet().stream().limit(5).toList() + ")");
        }
        return t;
    }

    /** Whether a tensor of that name exists. */
    public boolean has(String name) { return byName.containsKey(name); }

    /** The op that computes t, or null for inputs and parameters. */
    public Op producer(Tensor t) { return producers.get(t.id()); }

    @Override
    public String toString() {
        return "Graph(" + ops.size() + " ops, " + tensors.size() + " tensors, " + outputs.size() + " outputs)";
    }
}
