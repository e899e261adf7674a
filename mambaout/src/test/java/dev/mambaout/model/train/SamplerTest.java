package dev.mambaout.model.train;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {

    @Test
    void shardsCoverEverySampleExactlyOncePerEpoch() {
        int size = 103;
        for (int world = 1; world <= 5; world++) {
            for (int epoch = 0; epoch < 3; epoch++) {
                int[] seen = new int[size];
                int smallest = Integer.MAX_VALUE, largest = 0;
                for (int rank = 0; rank < world; rank++) {
                    Sampler s = new Sampler(size, 42, rank, world);
                    int[] idx = s.indices(epoch);
                    assertEquals(s.shardSize(), idx.length);
                    smallest = Math.min(smallest, idx.length);
                    largest = Math.max(largest, idx.length);
                    for (int i : idx) seen[i]++;
                }
                for (int i = 0; i < size; i++) assertEquals(1, seen[i], "sample " + i + ", world " + world + ", epoch " + epoch);
                assertTrue(largest - smallest <= 1, "shard sizes " + smallest + ".." + largest);
            }
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
        assertThrows(IllegalArgumentException.class, () -> new Sampler(10, 0, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(10, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(0, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Sampler.single(10, 0).indices(-1));
    }
}
