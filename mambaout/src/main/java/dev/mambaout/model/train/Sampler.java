package dev.mambaout.model.train;

import java.util.SplittableRandom;

/**
 * The order of the training samples in each epoch: a permutation of {@code 0..size-1} drawn from the seed and the
 * epoch alone (so a resumed run sees exactly the order the stopped one would have), split into {@code worldSize}
 * shards by position (rank r takes positions r, r + worldSize, ...), as PyTorch's {@code DistributedSampler} does,
 * but without padding: every sample is in exactly one shard each epoch, and shard sizes differ by at most one.
 */
public record Sampler(int size, long seed, int rank, int worldSize) {

    public Sampler {
        if (size < 1) throw new IllegalArgumentException("a sampler needs at least one sample, got " + size);
        if (worldSize < 1) throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank must lie in [0, " + worldSize + "), got " + rank);
    }

    /** A single process holding all the data. */
    public static Sampler single(int size, long seed) {
        return new Sampler(size, seed, 0, 1);
    }

    /** Samples in this shard per epoch. */
    public int shardSize() {
        return size / worldSize + (rank < size % worldSize ? 1 : 0);
    }

    /** This shard's sample indices for an epoch, in the order to visit them. */
    public int[] indices(int epoch) {
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        int[] perm = new int[size];
        for (int i = 0; i < size; i++) perm[i] = i;
        // One generator per (seed, epoch): SplittableRandom mixes its seed, so neighbouring epochs are unrelated.
        SplittableRandom rng = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (epoch + 1L)));
        for (int i = size - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] shard = new int[shardSize()];
        for (int k = 0, p = rank; k < shard.length; k++, p += worldSize) shard[k] = perm[p];
        return shard;
    }
}
