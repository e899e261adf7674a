package dev.mambaout.graph;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Where every arena tensor lives: byte offsets in one activation arena, chosen from tensor lifetimes.
 *
 * @param allocations  the arena tensors in the order they were placed
 * @param peakBytes    arena size needed (highest end offset)
 * @param maxLiveBytes the most bytes live at any one step: a lower bound no placement can beat
 * @param totalBytes   sum of all allocation sizes, what the arena would need without reuse
 */
public record MemoryPlan(List<Allocation> allocations, long peakBytes, long maxLiveBytes, long totalBytes,
                         Map<Integer, Allocation> byTensorId) {

    /** Offsets are multiples of this, so any kernel may use vector loads and cuBLASLt its preferred alignment. */
    public static final int ALIGNMENT = 256;

    /**
     * One tensor's slot. Steps index the graph's schedule: the tensor is written during {@code firstStep} (-1 for
     * bound inputs, live before the first op) and last read during {@code lastStep} (the schedule length for
     * graph outputs, which stay readable after the run).
     */
    public record Allocation(Tensor tensor, long offset, long bytes, int firstStep, int lastStep) {
        public boolean overlapsInTime(Allocation o) {
            return firstStep <= o.lastStep && o.firstStep <= lastStep;
        }

        public boolean overlapsInSpace(Allocation o) {
            return offset < o.offset + o.bytes && o.offset < offset + bytes;
        }
    }

    public MemoryPlan {
        allocations = List.copyOf(allocations);
        byTensorId = Collections.unmodifiableMap(byTensorId);
    }

    /** Byte offset of t in the arena, or -1 when t is not in the arena (parameters and their gradients). */
    public long offset(Tensor t) {
        Allocation a = byTensorId.get(t.id());
        return a == null ? -1 : a.offset();
    }

    /** The slot of t, or null when t is not in the arena. */
    public Allocation allocation(Tensor t) {
        return byTensorId.get(t.id());
    }
}
