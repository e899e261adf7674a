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

        long[] bytes = new long[order.size()];
        int[] first = new int[order.size()], last = new int[order.size()];
        for (int i = 0; i < order.size(); i++) {
            Tensor t = order.get(i);
            bytes[i] = t.numel() * (t.dtype().isFloatingPoint() ? floatType.bytes() : t.dtype().bytes());
            first[i] = life.get(t.id())[0];
            last[i] = life.get(t.id())[1];
        }
        Placement p = place(bytes, first, last);
        Map<Integer, MemoryPlan.Allocation> slots = new HashMap<>();
        List<MemoryPlan.Allocation> placed = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) {
            MemoryPlan.Allocation a = new MemoryPlan.Allocation(order.get(i), p.offsets()[i], align(bytes[i]), first[i], last[i]);
            slots.put(order.get(i).id(), a);
            placed.add(a);
        }
        return new MemoryPlan(placed, p.peakBytes(), p.maxLiveBytes(), p.totalBytes(), slots);
    }

    /**
     * Where each of a set of buffers goes, given only sizes and lifetimes: the planning algorithm itself, shared by
     * the graph planner above and by executors that plan over their own lowered steps (with scratch buffers the
     * graph never sees).
     *
     * @param offsets      byte offset of each buffer, in the order given
     * @param peakBytes    arena size needed
     * @param maxLiveBytes the most bytes live at any one step
     * @param totalBytes   the sum of all (aligned) sizes
     */
    public record Placement(long[] offsets, long peakBytes, long maxLiveBytes, long totalBytes) {}

    /**
     * Places buffer i, written during step {@code first[i]} (-1: live before the first step) and last read during
     * step {@code last[i]}. Buffers written at one step are placed in the order given, before the ones dying at that
     * step are released, so a step never writes over its own operands. Sizes are rounded up to
     * {@link MemoryPlan#ALIGNMENT}.
     */
    public static Placement place(long[] bytes, int[] first, int[] last) {
        int n = bytes.length;
        if (first.length != n || last.length != n) throw new IllegalArgumentException("bytes, first and last differ in length");
        int end = -1;
        for (int i = 0; i < n; i++) {
            if (first[i] < -1 || last[i] < first[i]) {
                throw new IllegalArgumentException("buffer " + i + " has lifetime [" + first[i] + ", " + last[i] + "]");
            }
            end = Math.max(end, last[i]);
        }
        // Buffers by the step that writes them and by the step after which they die.
        Map<Integer, List<Integer>> born = new HashMap<>(), dying = new HashMap<>();
        for (int i = 0; i < n; i++) {
            born.computeIfAbsent(first[i], k -> new ArrayList<>()).add(i);
            dying.computeIfAbsent(last[i], k -> new ArrayList<>()).add(i);
        }
        Arena arena = new Arena();
        long[] offsets = new long[n];
        long total = 0, live = 0, maxLive = 0;
        for (int s = -1; s <= end; s++) {
            for (int i : born.getOrDefault(s, List.of())) {
                long b = align(bytes[i]);
                offsets[i] = arena.allocate(b);
                total += b;
                live += b;
            }
            maxLive = Math.max(maxLive, live);
            for (int i : dying.getOrDefault(s, List.of())) {
                long b = align(bytes[i]);
                arena.release(offsets[i], b);
                live -= b;
            }
        }
        return new Placement(offsets, arena.top, maxLive, total);
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
