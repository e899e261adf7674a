package dev.mambaout.runtime.dist;

import dev.mambaout.runtime.dist.GradientBuckets.Bucket;
import dev.mambaout.runtime.dist.GradientBuckets.Caps;
import dev.mambaout.runtime.dist.GradientBuckets.Gradient;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GradientBucketsTest {

    private static final long KIB = 1024, MIB = 1024 * KIB;

    /**
     * A net of {@code layers} layers, each a weight and a bias, laid out in forward order with 32-byte alignment
     * padding, as flat f32 buffers are; the backward pass finishes them last layer first, bias and weight of one
     * layer after the same step. Returned in that backward order.
     */
    private static List<Gradient> forwardLayout(Random rnd, int layers, long maxWeightBytes) {
        long[] offsets = new long[2 * layers];
        long[] sizes = new long[2 * layers];
        long at = 0;
        for (int i = 0; i < 2 * layers; i++) {
            sizes[i] = i % 2 == 0 ? 4 * (1 + rnd.nextLong(maxWeightBytes / 4)) : 4 * (1 + rnd.nextInt(1024));
            offsets[i] = at;
            at = (at + sizes[i] + 31) / 32 * 32;
        }
        List<Gradient> out = new ArrayList<>();
        for (int layer = layers - 1, step = 0; layer >= 0; layer--, step++) {
            out.add(new Gradient("l" + layer + ".bias", offsets[2 * layer + 1], sizes[2 * layer + 1], step));
            out.add(new Gradient("l" + layer + ".weight", offsets[2 * layer], sizes[2 * layer], step));
        }
        return out;
    }

    /** Every gradient byte in exactly one bucket, no bucket over any gradient it does not list. */
    private static void assertCoversEachGradientByteOnce(List<Gradient> grads, GradientBuckets plan) {
        Map<String, Gradient> byName = new HashMap<>();
        for (Gradient g : grads) byName.put(g.name(), g);
        int listed = 0;
        for (Gradient g : grads) {
            int holders = 0;
            for (Bucket b : plan.buckets()) {
                boolean inside = g.offset() >= b.offset() && g.end() <= b.end();
                boolean touches = g.offset() < b.end() && b.offset() < g.end();
                assertEquals(inside, touches, g.name() + " straddles bucket " + b);
                assertEquals(inside, b.gradients().contains(g.name()), g.name() + " vs the members of " + b);
                if (inside) holders++;
            }
            assertEquals(1, holders, g.name() + " is in " + holders + " buckets");
        }
        for (Bucket b : plan.buckets()) {
            listed += b.gradients().size();
            assertTrue(b.bytes() > 0 && b.bytes() % plan.elementBytes() == 0, b.toString());
            long first = Long.MAX_VALUE, last = 0;
            for (String name : b.gradients()) {
                first = Math.min(first, byName.get(name).offset());
                last = Math.max(last, byName.get(name).end());
            }
            assertEquals(first, b.offset(), "bucket starts at its lowest gradient: " + b);
            assertEquals(last, b.end(), "bucket ends at its highest gradient: " + b);
        }
        assertEquals(grads.size(), listed);
    }

    @Test
    void forwardLayoutBucketsCoverEveryByteOnceWithinTheCaps() {
        Random rnd = new Random(5);
        for (int trial = 0; trial < 20; trial++) {
            List<Gradient> grads = forwardLayout(rnd, 1 + rnd.nextInt(60), 6 * MIB);
            GradientBuckets plan = GradientBuckets.plan(grads, 4, Caps.DDP);
            assertCoversEachGradientByteOnce(grads, plan);
            Map<String, Gradient> byName = new HashMap<>();
            for (Gradient g : grads) byName.put(g.name(), g);
            for (int i = 0; i < plan.buckets().size(); i++) {
                Bucket b = plan.buckets().get(i);
                long cap = i == 0 ? GradientBuckets.DDP_FIRST_BUCKET_BYTES : GradientBuckets.DDP_BUCKET_BYTES;
                assertTrue(b.bytes() <= cap || b.gradients().size() == 1, "bucket " + i + " over its cap: " + b);
                int max = 0;
                for (String name : b.gradients()) max = Math.max(max, byName.get(name).readyStep());
                assertEquals(max, b.readyStep(), "ready step of " + b);
                if (i > 0) assertTrue(plan.buckets().get(i - 1).readyStep() <= b.readyStep(), "ordered by ready step");
                // Full buckets: the next backward gradient would not have fitted (the layout follows the backward).
                if (i + 1 < plan.buckets().size()) {
                    Gradient following = byName.get(plan.buckets().get(i + 1).gradients().getFirst());
                    long grown = Math.max(b.end(), following.end()) - Math.min(b.offset(), following.offset());
                    assertTrue(grown > cap, "bucket " + i + " closed early: " + b + " before " + following);
                }
            }
        }
    }

    @Test
    void aGradientLargerThanTheCapGetsItsOwnBucket() {
        List<Gradient> grads = List.of(new Gradient("head.bias", 0, 40, 0), new Gradient("head.weight", 64, 4000, 0),
                new Gradient("huge", 4096, 100_000, 1), new Gradient("stem.bias", 104_096, 40, 2),
                new Gradient("stem.weight", 104_160, 400, 2));
        GradientBuckets plan = GradientBuckets.plan(grads, 4, Caps.uniform(8 * KIB));
        assertCoversEachGradientByteOnce(grads, plan);
        assertEquals(List.of(List.of("head.bias", "head.weight"), List.of("huge"), List.of("stem.bias", "stem.weight")),
                plan.buckets().stream().map(Bucket::gradients).toList());
        assertEquals(100_000, plan.buckets().get(1).bytes());
        assertEquals(25_000, plan.elements(plan.buckets().get(1)));
        // The alignment gap between head.bias and head.weight goes with them: one range, [0, 4064).
        assertEquals(new Bucket(0, 4064, 0, List.of("head.bias", "head.weight")), plan.buckets().getFirst());
    }

    @Test
    void theFirstBucketHasItsOwnCap() {
        List<Gradient> grads = new ArrayList<>();
        for (int i = 0; i < 8; i++) grads.add(new Gradient("g" + i, (7 - i) * 1024L, 1024, i));
        GradientBuckets plan = GradientBuckets.plan(grads, 4, new Caps(2048, 4096));
        assertEquals(List.of(List.of("g0", "g1"), List.of("g2", "g3", "g4", "g5"), List.of("g6", "g7")),
                plan.buckets().stream().map(Bucket::gradients).toList());
        assertEquals(List.of(1, 5, 7), plan.buckets().stream().map(Bucket::readyStep).toList());
        assertEquals(6 * 1024L, plan.buckets().getFirst().offset());   // the layout is the reverse of the backward
    }

    @Test
    void aLayoutAgainstTheBackwardOrderStillCoversEverythingInSmallerBuckets() {
        // Weights first, then biases (a decay/no-decay split): the backward alternates between the two regions.
        List<Gradient> grads = new ArrayList<>();
        for (int layer = 3, step = 0; layer >= 0; layer--, step++) {
            grads.add(new Gradient("l" + layer + ".weight", layer * 4096L, 4096, step));
            grads.add(new Gradient("l" + layer + ".bias", 16384 + layer * 64L, 64, step));
        }
        GradientBuckets plan = GradientBuckets.plan(grads, 4, Caps.DDP);
        assertCoversEachGradientByteOnce(grads, plan);
        assertEquals(8, plan.buckets().size(), "no two backward neighbours are buffer neighbours");
        // b lies between a and c but finishes after c: a alone, then c and b (b below c's bottom), never a..c over b.
        List<Gradient> skip = List.of(new Gradient("a", 0, 64, 0), new Gradient("c", 128, 64, 1),
                new Gradient("b", 64, 64, 2));
        GradientBuckets split = GradientBuckets.plan(skip, 4, Caps.DDP);
        assertCoversEachGradientByteOnce(skip, split);
        assertEquals(List.of(new Bucket(0, 64, 0, List.of("a")), new Bucket(64, 128, 2, List.of("c", "b"))),
                split.buckets());
        // Buffer order equal to the backward order merges everything into one bucket, ready after the last step.
        List<Gradient> following = new ArrayList<>();
        long at = 0;
        for (Gradient g : grads) {
            following.add(new Gradient(g.name(), at, g.bytes(), g.readyStep()));
            at += g.bytes();
        }
        GradientBuckets merged = GradientBuckets.plan(following, 4, Caps.uniform(MIB));
        assertEquals(1, merged.buckets().size());
        assertEquals(new Bucket(0, at, 3, grads.stream().map(Gradient::name).toList()), merged.buckets().getFirst());
    }

    @Test
    void twoOpenBucketsFillEachRegionOfTheAdamWLayout() {
        // The same decay/no-decay split: with a bucket open per region, the weights of layers 3..0 form buckets of
        // the 8 KiB cap, the biases one bucket; issued in the order of their ready steps.
        List<Gradient> grads = new ArrayList<>();
        for (int layer = 3, step = 0; layer >= 0; layer--, step++) {
            grads.add(new Gradient("l" + layer + ".weight", layer * 4096L, 4096, step));
            grads.add(new Gradient("l" + layer + ".bias", 16384 + layer * 64L, 64, step));
        }
        GradientBuckets plan = GradientBuckets.plan(grads, 4, Caps.uniform(8 * KIB), 2);
        assertCoversEachGradientByteOnce(grads, plan);
        assertEquals(List.of(new Bucket(8192, 8192, 1, List.of("l3.weight", "l2.weight")),
                        new Bucket(0, 8192, 3, List.of("l1.weight", "l0.weight")),
                        new Bucket(16384, 256, 3, List.of("l3.bias", "l2.bias", "l1.bias", "l0.bias"))),
                plan.buckets());
        // One open bucket on the same layout: a bucket per gradient, as before.
        assertEquals(8, GradientBuckets.plan(grads, 4, Caps.uniform(8 * KIB), 1).buckets().size());
        // Random two-region layouts: coverage, caps and the issue order hold for 1..3 open buckets.
        Random rnd = new Random(11);
        for (int trial = 0; trial < 50; trial++) {
            List<Gradient> g = new ArrayList<>();
            int layers = 1 + rnd.nextInt(30);
            long[] w = new long[layers], b = new long[layers];
            long at = 0;
            for (int l = 0; l < layers; l++) {
                w[l] = at;
                at += 4 * (1 + rnd.nextInt(5000)) + 64;
            }
            for (int l = 0; l < layers; l++) {
                b[l] = at;
                at += 64;
            }
            for (int l = layers - 1, step = 0; l >= 0; l--, step += 1 + rnd.nextInt(2)) {
                g.add(new Gradient("w" + l, w[l], 4 * (1 + rnd.nextInt((int) ((l + 1 < layers ? w[l + 1] : b[0]) - w[l]) / 4)), step));
                g.add(new Gradient("b" + l, b[l], 64, step));
            }
            long cap = 4 * KIB * (1 + rnd.nextInt(8));
            GradientBuckets p2 = GradientBuckets.plan(g, 4, Caps.uniform(cap), 1 + rnd.nextInt(3));
            assertCoversEachGradientByteOnce(g, p2);
            int ready = -1;
            for (Bucket bk : p2.buckets()) {
                assertTrue(bk.readyStep() >= ready, "issue order " + p2.buckets());
                ready = bk.readyStep();
                assertTrue(bk.bytes() <= cap || bk.gradients().size() == 1, bk + " over the cap " + cap);
            }
        }
        assertMessage("at least one open bucket", () -> GradientBuckets.plan(grads, 4, Caps.DDP, 0));
    }

    @Test
    void degenerateInputsAreRefusedSayingWhy() {
        Gradient a = new Gradient("a", 0, 16, 0), b = new Gradient("b", 16, 16, 1);
        assertMessage("no gradients to bucket", () -> GradientBuckets.plan(List.of(), 4, Caps.DDP));
        assertMessage("gradient a is listed twice", () -> GradientBuckets.plan(List.of(a, a), 4, Caps.DDP));
        assertMessage("gradients a [0, 16) and c [8, 24) overlap",
                () -> GradientBuckets.plan(List.of(a, new Gradient("c", 8, 16, 0)), 4, Caps.DDP));
        assertMessage("gradient d at byte 6, 16 bytes, is not whole 4-byte elements",
                () -> GradientBuckets.plan(List.of(a, new Gradient("d", 6, 16, 0)), 4, Caps.DDP));
        assertMessage("gradient a (ready after step 0) is listed after b (ready after step 1): list the gradients in"
                + " the order the backward pass finishes them", () -> GradientBuckets.plan(List.of(b, a), 4, Caps.DDP));
        assertMessage("element size 0 bytes", () -> GradientBuckets.plan(List.of(a), 0, Caps.DDP));
        assertMessage("gradient e: 0 bytes", () -> new Gradient("e", 0, 0, 0));
        assertMessage("gradient e: offset -4 < 0", () -> new Gradient("e", -4, 4, 0));
        assertMessage("gradient e: ready step -1 < 0", () -> new Gradient("e", 0, 4, -1));
        assertMessage("a gradient needs a name", () -> new Gradient(" ", 0, 4, 0));
        assertMessage("bucket caps must be positive, got first 0, then 25", () -> new Caps(0, 25));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
