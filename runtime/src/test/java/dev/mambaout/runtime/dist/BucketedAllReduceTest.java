package dev.mambaout.runtime.dist;

import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.natives.nccl.NcclRedOp;
import dev.mambaout.runtime.dist.GradientBuckets.Bucket;
import dev.mambaout.runtime.dist.GradientBuckets.Caps;
import dev.mambaout.runtime.dist.GradientBuckets.Gradient;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The all-reduce schedule over a fake in-process world: what is issued after which backward step, and the sums. */
class BucketedAllReduceTest {

    /** Ten layers of 3 KiB weight + 256 B bias in forward order; backward step s finishes layer 9 - s. */
    private static List<Gradient> tenLayers() {
        List<Gradient> grads = new ArrayList<>();
        for (int layer = 9, step = 0; layer >= 0; layer--, step++) {
            grads.add(new Gradient("l" + layer + ".bias", layer * 3328L + 3072, 256, step));
            grads.add(new Gradient("l" + layer + ".weight", layer * 3328L, 3072, step));
        }
        return grads;
    }

    @Test
    void eachBucketIsReducedRightAfterItsReadyStepInOrderAndSums() {
        GradientBuckets plan = GradientBuckets.plan(tenLayers(), 4, new Caps(4096, 8192));
        assertTrue(plan.buckets().size() >= 3, plan.toString());
        int world = 3, floats = 10 * 3328 / 4;
        FakeWorld fake = new FakeWorld(world, true);
        Random rnd = new Random(3);
        try (Arena arena = Arena.ofConfined()) {
            List<BucketedAllReduce.Rank> ranks = new ArrayList<>();
            float[][] before = new float[world][floats];
            MemorySegment[] buffers = new MemorySegment[world];
            for (int r = 0; r < world; r++) {
                for (int i = 0; i < floats; i++) before[r][i] = rnd.nextFloat() - 0.5f;
                buffers[r] = arena.allocateFrom(JAVA_FLOAT, before[r]);
                ranks.add(new BucketedAllReduce.Rank(fake.rank(r), buffers[r].address(), 100 + r));
            }
            BucketedAllReduce reduce = new BucketedAllReduce(plan, ranks, NcclDataType.FLOAT32, NcclRedOp.SUM);
            for (int pass = 0; pass < 2; pass++) {
                int base = fake.calls().size();
                List<Integer> issuedAfterStep = new ArrayList<>();
                for (int step = 0; step < 10; step++) {
                    int was = fake.calls().size();
                    reduce.stepDone(step);
                    for (int k = was; k < fake.calls().size(); k++) issuedAfterStep.add(step);
                    for (int r = 0; r < world; r++) fake.rank(r).checkAsync();
                }
                reduce.backwardDone();
                List<FakeWorld.Call> calls = fake.calls().subList(base, fake.calls().size());
                assertEquals(plan.buckets().size() * world, calls.size());
                for (int k = 0; k < calls.size(); k++) {
                    Bucket b = plan.buckets().get(k / world);
                    FakeWorld.Call c = calls.get(k);
                    assertEquals(k % world, c.rank(), "ranks in order within a bucket");
                    assertEquals(b.readyStep(), issuedAfterStep.get(k), "issued right after its ready step: " + b);
                    assertEquals(buffers[c.rank()].address() + b.offset(), c.send());
                    assertEquals(c.send(), c.recv(), "in place");
                    assertEquals(b.bytes() / 4, c.count());
                    assertEquals(100 + c.rank(), c.stream());
                    assertTrue(c.grouped(), "one thread driving several ranks groups their calls");
                }
                if (pass == 0) {
                    // Every gradient float is the sum over ranks, in rank order (padding too: it is part of the ranges).
                    float[] sum = new float[floats];
                    for (int i = 0; i < floats; i++) sum[i] = before[0][i] + before[1][i] + before[2][i];
                    for (int r = 0; r < world; r++) assertArrayEquals(sum, buffers[r].toArray(JAVA_FLOAT));
                }
            }
        }
    }

    @Test
    void skippedStepsIssueEverythingReadyAndOneRankCallsAlone() {
        GradientBuckets plan = GradientBuckets.plan(tenLayers(), 4, Caps.uniform(3328));   // one layer per bucket
        assertEquals(10, plan.buckets().size());
        FakeWorld fake = new FakeWorld(2, false);
        BucketedAllReduce reduce = new BucketedAllReduce(plan, List.of(new BucketedAllReduce.Rank(fake.rank(1), 4096, 7)),
                NcclDataType.FLOAT32, NcclRedOp.AVG);
        reduce.stepDone(0);
        assertEquals(1, fake.calls().size());
        assertTrue(!fake.calls().getFirst().grouped(), "a single call needs no group");
        reduce.stepDone(3);   // steps 1 and 2 were not reported: their buckets go now, in order
        assertEquals(4, fake.calls().size());
        assertEquals(List.of(4096 + 9 * 3328L, 4096 + 8 * 3328L, 4096 + 7 * 3328L, 4096 + 6 * 3328L),
                fake.calls().stream().map(FakeWorld.Call::send).toList());
        assertTrue(fake.calls().subList(1, 4).stream().allMatch(FakeWorld.Call::grouped));
        // Rank 0 of this world never posts: the fake reports the hang a real world would have.
        var hang = assertThrows(IllegalStateException.class, () -> fake.rank(1).checkAsync());
        assertTrue(hang.getMessage().contains("waits for ranks that never posted it"), hang.getMessage());
        var early = assertThrows(IllegalStateException.class, reduce::backwardDone);
        assertTrue(early.getMessage().contains("ended after step 3 with 6 bucket(s) not reduced"), early.getMessage());
        assertTrue(early.getMessage().contains("[l5.bias, l5.weight] (ready after step 4)"), early.getMessage());
        reduce.stepDone(9);   // reset by backwardDone: a new pass starts from bucket 0
        assertEquals(14, fake.calls().size());
        var backwards = assertThrows(IllegalStateException.class, () -> reduce.stepDone(9));
        assertTrue(backwards.getMessage().contains("step 9 reported after step 9"), backwards.getMessage());
    }

    @Test
    void mismatchedRanksAndTypesAreRefused() {
        GradientBuckets plan = GradientBuckets.plan(tenLayers(), 4, Caps.DDP);
        FakeWorld two = new FakeWorld(2, false), three = new FakeWorld(3, false);
        var sizes = assertThrows(IllegalArgumentException.class, () -> new BucketedAllReduce(plan,
                List.of(new BucketedAllReduce.Rank(two.rank(0), 64, 0), new BucketedAllReduce.Rank(three.rank(1), 64, 0)),
                NcclDataType.FLOAT32, NcclRedOp.SUM));
        assertTrue(sizes.getMessage().contains("rank 1 belongs to a world of 3, rank 0 to one of 2"), sizes.getMessage());
        var twice = assertThrows(IllegalArgumentException.class, () -> new BucketedAllReduce(plan,
                List.of(new BucketedAllReduce.Rank(two.rank(0), 64, 0), new BucketedAllReduce.Rank(two.rank(0), 128, 0)),
                NcclDataType.FLOAT32, NcclRedOp.SUM));
        assertTrue(twice.getMessage().contains("rank 0 is listed twice"), twice.getMessage());
        var type = assertThrows(IllegalArgumentException.class, () -> new BucketedAllReduce(plan,
                List.of(new BucketedAllReduce.Rank(two.rank(0), 64, 0)), NcclDataType.BFLOAT16, NcclRedOp.SUM));
        assertTrue(type.getMessage().contains("BFLOAT16 is 2-byte elements; the plan counts 4-byte elements"),
                type.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new BucketedAllReduce.Rank(two.rank(0), 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new BucketedAllReduce(plan, List.of(), NcclDataType.FLOAT32, NcclRedOp.SUM));
    }
}
