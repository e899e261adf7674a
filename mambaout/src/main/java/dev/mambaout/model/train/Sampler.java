package dev.mambaout.model.train;

import java.util.SplittableRandom;

/**
 * The order of the training samples in each epoch: a permutation of {@code 0..size-1} drawn from the seed and the
 * epoch alone (so a resumed run sees exactly the order the stopped one would have, and every rank of a
 * data-parallel run draws the same one), split into {@code worldSize} shards by position as PyTorch's
 * {@code DistributedSampler} does: rank r takes positions r, r + worldSize, ... What happens to the
 * {@code size % worldSize} samples that do not split evenly is the {@link Remainder}. With one rank every policy
 * gives the whole permutation, in the order this class has always given.
 */
public record Sampler(int size, long seed, int rank, int worldSize, Remainder remainder) {

    /** The samples left over when an epoch does not split evenly across the ranks. */
    public enum Remainder {
        /**
         * {@code DistributedSampler}'s default ({@code drop_last=False}): the permutation is extended by wrapping
         * around to its start until it divides evenly, so every rank takes the same number of steps and the first
         * few samples of this epoch's permutation are seen twice.
         */
        PAD,
        /**
         * {@code drop_last=True}: the permutation's tail is cut to a multiple of the world size, so every rank takes
         * the same number of steps and a few samples (other ones each epoch) are not seen.
         */
        DROP,
        /**
         * Every sample exactly once, shard sizes differing by at most one: for evaluation, where each rank counts
         * its own shard. Not for training, whose ranks must take the same number of steps or their collectives hang.
         */
        UNEVEN
    }

    public Sampler {
        if (size < 1) throw new IllegalArgumentException("a sampler needs at least one sample, got " + size);
        if (worldSize < 1) throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank must lie in [0, " + worldSize + "), got " + rank);
        if (remainder == null) throw new IllegalArgumentException("a sampler needs a remainder policy (PAD, DROP or UNEVEN)");
        if (remainder == Remainder.DROP && size < worldSize) {
            throw new IllegalArgumentException("dropping the remainder of " + size + " samples over " + worldSize
                    + " ranks leaves every rank empty; pad instead");
        }
    }

    /** A single process holding all the data. */
    public static Sampler single(int size, long seed) {
        return new Sampler(size, seed, 0, 1, Remainder.PAD);
    }

    /** Samples in this shard per epoch. */
    public int shardSize() {
        return switch (remainder) {
            case PAD -> size / worldSize + (size % worldSize == 0 ? 0 : 1);
            case DROP -> size / worldSize;
            case UNEVEN -> size / worldSize + (rank < size % worldSize ? 1 : 0);
        };
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
        // Positions past the end exist only when padding: they wrap around to the permutation's start.
        for (int k = 0; k < shard.length; k++) shard[k] = perm[(int) ((rank + (long) k * worldSize) % size)];
        return shard;
    }
}
