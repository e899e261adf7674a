package dev.mambaout.graph;

import dev.mambaout.graph.ops.Op;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Places activations in one arena. Lifetimes come from the schedule (written by its producer's step, dead after its
 * last reader's step; outputs live to the end). Walking the schedule, each op's outputs are placed before the
 * tensors dying at that step are released, so an op never writes over its own operands; a placement takes the
 * smallest free hole that fits (best fit), else grows the arena, merging freed neighbours so space is reused.
 * Only sizes are touched, O(tensors x free holes), so planning a full training graph takes milliseconds.
 * <p>
 * Parameters and parameter gradients are not in the arena: they live in the weight and gradient buffers, which
 * persist across steps. Inputs, labels, intermediates and input gradients are.
 */
public final class MemoryPlanner {
    private MemoryPlanner() {}

    /** Plans a training graph; gradients of parameters stay out of the arena. */
    public static MemoryPlan plan(TrainingGraph training, DType floatType) {
        Set<Integer> excluded = new HashSet<>();
        training.gradients().forEach((of, g) -> {
            if (of.role() == Tensor.Role.PARAMETER) excluded.add(g.id());
        });
        return plan(training.graph(), floatType, excluded);
    }

    /** Plans a graph (e.g. an inference graph): every tensor except parameters is placed. */
    public static MemoryPlan plan(Graph graph, DType floatType) {
        return plan(graph, floatType, Set.of());
    }

    /**
     * @param floatType element type assumed for floating tensors (integer tensors keep their own)
     * @param excluded  ids of computed tensors kept outside the arena besides parameters
     */
    public static MemoryPlan plan(Graph graph, DType floatType, Set<Integer> excluded) {
        if (!floatType.isFloatingPoint()) throw new IllegalArgumentException("floatType must be floating, got " + floatType);
        List<Op> ops = graph.ops();
        int end = ops.size();
        Map<Integer, int[]> life = new HashMap<>();
        List<Tensor> order = new ArrayList<>();
        for (Tensor t : graph.tensors()) {
            if (t.role() == Tensor.Role.INPUT && !excluded.contains(t.id())) {
                life.put(t.id(), new int[]{-1, -1});
                order.add(t);
            }
        }
        for (int s = 0; s < ops.size(); s++) {
            for (Tensor t : ops.get(s).inputs()) {
                int[] l = life.get(t.id());
                if (l != null) l[1] = s;
            }
            for (Tensor t : ops.get(s).outputs()) {
                if (excluded.contains(t.id())) continue;
                life.put(t.id(), new int[]{s, s});
                order.add(t);
            }
        }
        for (Tensor t : graph.outputs()) {
            int[] l = life.get(t.id());
            if (l != null) l[1] = end;
        }

        // Tensors by the step after which they die; inputs (-1) are placed up front.
        Map<Integer, List<Tensor>> dying = new HashMap<>();
        for (Tensor t : order) dying.computeIfAbsent(life.get(t.id())[1], k -> new ArrayList<>()).add(t);

        Arena arena = new Arena();
        Map<Integer, MemoryPlan.Allocation> slots = new HashMap<>();
        List<MemoryPlan.Allocation> placed = new ArrayList<>();
        long total = 0, live = 0, maxLive = 0;
        int next = 0;
        for (int s = -1; s <= end; s++) {
            while (next < order.size() && life.get(order.get(next).id())[0] == s) {
                Tensor t = order.get(next++);
                int[] l = life.get(t.id());
                long bytes = align(t.numel() * (t.dtype().isFloatingPoint() ? floatType.bytes() : t.dtype().bytes()));
                MemoryPlan.Allocation a = new MemoryPlan.Allocation(t, arena.allocate(bytes), bytes, l[0], l[1]);
                slots.put(t.id(), a);
                placed.add(a);
                total += bytes;
                live += bytes;
            }
            maxLive = Math.max(maxLive, live);
            for (Tensor t : dying.getOrDefault(s, List.of())) {
                MemoryPlan.Allocation a = slots.get(t.id());
                arena.release(a.offset(), a.bytes());
                live -= a.bytes();
            }
        }
        return new MemoryPlan(placed, arena.top, maxLive, total, slots);
    }

    private static long align(long bytes) {
        long a = MemoryPlan.ALIGNMENT;
        return Math.max(a, (bytes + a - 1) / a * a);
    }

    /** Free holes below the high-water mark, keyed by offset, neighbours merged on release. */
    private static final class Arena {
        final TreeMap<Long, Long> free = new TreeMap<>();
        long top;

        long allocate(long bytes) {
            Long best = null;
            for (Map.Entry<Long, Long> e : free.entrySet()) {
                if (e.getValue() >= bytes && (best == null || e.getValue() < free.get(best))) best = e.getKey();
            }
            if (best != null) {
                long size = free.remove(best);
                if (size > bytes) free.put(best + bytes, size - bytes);
                return best;
            }
            // A hole touching the top is extended rather than left behind.
            Map.Entry<Long, Long> last = free.lastEntry();
            if (last != null && last.getKey() + last.getValue() == top) {
                free.remove(last.getKey());
                top = last.getKey() + bytes;
                return last.getKey();
            }
            long at = top;
            top += bytes;
            return at;
        }

        void release(long offset, long bytes) {
            long start = offset, size = bytes;
            Map.Entry<Long, Long> before = free.floorEntry(offset);
            if (before != null && before.getKey() + before.getValue() == offset) {
                start = before.getKey();
                size += before.getValue();
                free.remove(before.getKey());
            }
            Long after = free.get(offset + bytes);
            if (after != null) {
                size += after;
                free.remove(offset + bytes);
            }
            free.put(start, size);
        }
    }
}
