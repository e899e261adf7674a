package dev.mambaout.graph;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class MemoryPlannerTest {

    /** No two allocations that are live at the same step share a byte; checked by a sweep, not trusted from the plan. */
    static void assertNoLiveOverlap(MemoryPlan plan, int floatBytes) {
        List<MemoryPlan.Allocation> all = new ArrayList<>(plan.allocations());
        all.sort(Comparator.comparingInt(MemoryPlan.Allocation::firstStep));
        // Sweep over steps: a set of live allocations ordered by offset; each newcomer must not overlap a neighbour.
        TreeSet<MemoryPlan.Allocation> live = new TreeSet<>(Comparator.comparingLong(MemoryPlan.Allocation::offset)
                .thenComparingInt(a -> a.tensor().id()));
        for (MemoryPlan.Allocation a : all) {
            live.removeIf(o -> o.lastStep() < a.firstStep());
            MemoryPlan.Allocation below = live.floor(a), above = live.ceiling(a);
            for (MemoryPlan.Allocation o : new MemoryPlan.Allocation[]{below, above}) {
                if (o != null && o.overlapsInSpace(a)) fail(a + " overlaps live " + o);
            }
            live.add(a);
        }
        for (MemoryPlan.Allocation a : all) {
            assertTrue(a.offset() >= 0 && a.offset() + a.bytes() <= plan.peakBytes(), a + " outside the arena");
            assertEquals(0, a.offset() % MemoryPlan.ALIGNMENT, a + " misaligned");
            assertTrue(a.bytes() >= a.tensor().numel() * (a.tensor().dtype() == DType.I32 ? 4 : floatBytes), a + " too small");
        }
    }

    @Test
    void smallTrainingGraphPlanIsSoundAndReuses() {
        NetFixture net = NetFixture.build(DType.F32, 2, 33, 3, 7, List.of(2, 2), List.of(8, 16), 8.0 / 3.0, 7,
                dev.mambaout.graph.ops.Activation.GELU, true, 0.0);
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        MemoryPlan plan = MemoryPlanner.plan(t, DType.F32);
        assertNoLiveOverlap(plan, 4);
        List<MemoryPlan.Allocation> all = plan.allocations();
        for (int i = 0; i < all.size(); i++) // brute force over all pairs, independent of the sweep above
            for (int j = i + 1; j < all.size(); j++)
                if (all.get(i).overlapsInTime(all.get(j))) assertTrue(!all.get(i).overlapsInSpace(all.get(j)), all.get(i) + " / " + all.get(j));
        assertTrue(plan.peakBytes() <= plan.totalBytes());
        assertTrue(plan.peakBytes() < plan.totalBytes() / 2, "no reuse: peak " + plan.peakBytes() + " of " + plan.totalBytes());
        assertTrue(plan.maxLiveBytes() <= plan.peakBytes());
        for (Tensor p : net.graph().parameters()) {
            assertNull(plan.allocation(p), p + " is a parameter");
            assertEquals(-1, plan.offset(t.gradient(p)), "gradient of " + p + " must stay out of the arena");
        }
        assertNotNull(plan.allocation(net.input()));
        assertNotNull(plan.allocation(t.gradient(net.input())));
        assertEquals(t.graph().ops().size(), plan.allocation(net.logits()).lastStep(), "outputs live to the end");
    }

    /** Hand-checked chain: a -> b -> c -> d; with equal sizes only two buffers are ever live. */
    @Test
    void chainReusesFreedSpace() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", 64);
        Tensor a = g.gelu(x), b = g.gelu(a), c = g.gelu(b);
        g.output(g.gelu(c));
        MemoryPlan plan = MemoryPlanner.plan(g.build(), DType.F32);
        assertNoLiveOverlap(plan, 4);
        assertEquals(5 * 256, plan.totalBytes());
        // x lives during op 0 only; from then on exactly two of the 256-byte slots are live at once.
        assertEquals(2 * 256, plan.peakBytes());
        assertEquals(plan.offset(x), plan.offset(b));
        assertEquals(plan.offset(a), plan.offset(c));
        assertEquals(2 * 512, MemoryPlanner.plan(g.build(), DType.F64).peakBytes()); // 64 doubles per tensor
    }

    @Test
    void planningBaseAtBatch128IsSoundAndReuses() {
        NetFixture net = NetFixture.base(DType.BF16, 128, 224);
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        MemoryPlanner.plan(t, DType.BF16); // warm-up for the JIT
        long t0 = System.nanoTime();
        MemoryPlan plan = MemoryPlanner.plan(t, DType.BF16);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertNoLiveOverlap(plan, 2);
        assertTrue(plan.peakBytes() < plan.totalBytes());
        MemoryPlan inference = MemoryPlanner.plan(net.graph(), DType.BF16);
        assertTrue(inference.peakBytes() < plan.peakBytes());
        System.out.printf("base b128 224: training arena %.2f GiB (live max %.2f, no reuse %.2f), inference %.3f GiB, planned in %.1f ms%n",
                plan.peakBytes() / 1073741824.0, plan.maxLiveBytes() / 1073741824.0, plan.totalBytes() / 1073741824.0,
                inference.peakBytes() / 1073741824.0, seconds * 1e3);
    }
}
