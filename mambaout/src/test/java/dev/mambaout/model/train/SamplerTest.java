package dev.mambaout.model.train;

import dev.mambaout.model.train.Sampler.Remainder;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {

    /** The order one process has always visited, written out as it stood before sharding had remainder policies. */
    private static int[] previousSingleOrder(int size, long seed, int epoch) {
        int[] perm = new int[size];
        for (int i = 0; i < size; i++) perm[i] = i;
        SplittableRandom rng = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (epoch + 1L)));
        for (int i = size - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return perm;
    }

    /** How often each sample appears in one epoch over all ranks. */
    private static int[] counts(int size, long seed, int world, Remainder remainder, int epoch) {
        int[] seen = new int[size];
        for (int rank = 0; rank < world; rank++) {
            Sampler s = new Sampler(size, seed, rank, world, remainder);
            int[] idx = s.indices(epoch);
            assertEquals(s.shardSize(), idx.length);
            for (int i : idx) seen[i]++;
        }
        return seen;
    }

    @Test
    void oneRankGivesThePreviousOrderUnderEveryPolicy() {
        for (long seed : new long[] {0, 7, -3, 42}) {
            for (int size : new int[] {1, 2, 103, 1000}) {
                for (int epoch = 0; epoch < 3; epoch++) {
                    int[] before = previousSingleOrder(size, seed, epoch);
                    assertArrayEquals(before, Sampler.single(size, seed).indices(epoch));
                    for (Remainder r : Remainder.values()) {
                        assertArrayEquals(before, new Sampler(size, seed, 0, 1, r).indices(epoch), r.name());
                    }
                }
            }
        }
    }

    @Test
    void unevenShardsCoverEverySampleExactlyOncePerEpoch() {
        int size = 103;
        for (int world = 1; world <= 5; world++) {
            for (int epoch = 0; epoch < 3; epoch++) {
                int[] seen = counts(size, 42, world, Remainder.UNEVEN, epoch);
                for (int i = 0; i < size; i++) assertEquals(1, seen[i], "sample " + i + ", world " + world + ", epoch " + epoch);
                int smallest = Integer.MAX_VALUE, largest = 0;
                for (int rank = 0; rank < world; rank++) {
                    int n = new Sampler(size, 42, rank, world, Remainder.UNEVEN).shardSize();
                    smallest = Math.min(smallest, n);
                    largest = Math.max(largest, n);
                }
                assertTrue(largest - smallest <= 1, "shard sizes " + smallest + ".." + largest);
            }
        }
    }

    @Test
    void paddingRepeatsOnlyThePermutationsFirstSamples() {
        for (int[] sw : new int[][] {{103, 4}, {103, 5}, {100, 4}, {3, 8}, {1, 3}}) {
            int size = sw[0], world = sw[1];
            for (int epoch = 0; epoch < 3; epoch++) {
                int[] perm = Sampler.single(size, 9).indices(epoch);
                int shard = (size + world - 1) / world;
                for (int rank = 0; rank < world; rank++) {
                    assertEquals(shard, new Sampler(size, 9, rank, world, Remainder.PAD).shardSize(), "equal shards");
                }
                int[] seen = counts(size, 9, world, Remainder.PAD, epoch);
                // DistributedSampler: indices += indices[:padding], repeated while padding > size.
                for (int j = 0; j < size; j++) {
                    int expected = 0;
                    for (int k = 0; k < shard * world; k++) if (k % size == j) expected++;
                    assertEquals(expected, seen[perm[j]], "permutation position " + j + ", " + size + " over " + world);
                }
            }
        }
    }

    @Test
    void droppingLeavesOutOnlyThePermutationsTail() {
        for (int[] sw : new int[][] {{103, 4}, {103, 5}, {100, 4}, {8, 8}}) {
            int size = sw[0], world = sw[1], kept = size / world * world;
            int[] perm = Sampler.single(size, 9).indices(1);
            int[] seen = counts(size, 9, world, Remainder.DROP, 1);
            for (int j = 0; j < size; j++) assertEquals(j < kept ? 1 : 0, seen[perm[j]], "permutation position " + j);
            for (int rank = 0; rank < world; rank++) {
                assertEquals(size / world, new Sampler(size, 9, rank, world, Remainder.DROP).shardSize());
            }
        }
    }

    @Test
    void everyRankTakesItsPositionsOfTheSamePermutation() {
        int size = 257, world = 3;
        for (Remainder r : Remainder.values()) {
            for (int epoch = 0; epoch < 2; epoch++) {
                int[] perm = Sampler.single(size, 5).indices(epoch);
                for (int rank = 0; rank < world; rank++) {
                    int[] idx = new Sampler(size, 5, rank, world, r).indices(epoch);
                    for (int k = 0; k < idx.length; k++) assertEquals(perm[(rank + k * world) % size], idx[k], r + " rank " + rank);
                }
            }
            Sampler one = new Sampler(size, 5, 1, world, r);
            assertFalse(Arrays.equals(one.indices(0), one.indices(1)), "epochs differ, " + r);
        }
    }

    @Test
    void orderIsAFunctionOfSeedAndEpoch() {
        Sampler a = Sampler.single(500, 7), b = Sampler.single(500, 7), other = Sampler.single(500, 8);
        assertArrayEquals(a.indices(3), b.indices(3));
        assertFalse(Arrays.equals(a.indices(3), a.indices(4)));
        assertFalse(Arrays.equals(a.indices(3), other.indices(3)));
        int[] sorted = a.indices(0).clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
        // Shuffled, not the identity: fewer than 2% of positions may hold their own index by chance (expected 1).
        int fixed = 0;
        int[] order = a.indices(0);
        for (int i = 0; i < order.length; i++) if (order[i] == i) fixed++;
        assertTrue(fixed < 10, fixed + " fixed points");
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(10, 0, 2, 2, Remainder.PAD));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(10, 0, 0, 0, Remainder.PAD));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(0, 0, 0, 1, Remainder.PAD));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(10, 0, 0, 1, null));
        var empty = assertThrows(IllegalArgumentException.class, () -> new Sampler(3, 0, 0, 4, Remainder.DROP));
        assertTrue(empty.getMessage().contains("3 samples over 4 ranks leaves every rank empty"), empty.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sampler.single(10, 0).indices(-1));
    }
}
