package dev.mambaout.graph;

/**
 * The counter-based generator behind stochastic depth: which samples a block keeps at a training step is a pure
 * function of (seed, step, block, sample), so a step replays from its seed and step alone, on the CPU executor and
 * on the GPU (droppath.cu implements the same arithmetic; its GPU test compares the two bit for bit).
 * <p>
 * The generator is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014;
 * Vigna's splitmix64.c): output i of the stream seeded with s is {@code mix(s + (i + 1) * GAMMA)}, so any output is
 * reachable without running the stream. The key is chained through three streams: the step-th output of the stream
 * seeded with the seed seeds the block's stream, whose block-th output seeds the sample stream. A sample is kept when
 * the top 53 bits, as a uniform u in [0, 1), are below 1 - rate: torch's {@code bernoulli_(keep_prob)} in timm's
 * DropPath, decided by one integer comparison against {@link #keepThreshold} so both sides agree exactly.
 */
public final class DropPathRng {

    /** SplitMix64's increment: 2^64 / the golden ratio, odd. */
    public static final long GAMMA = 0x9E3779B97F4A7C15L;

    private DropPathRng() {}

    /** SplitMix64's output function (a variant of MurmurHash3's finalizer, David Stafford's "Mix13"). */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Output number {@code i} (0-based) of SplitMix64 seeded with {@code seed}. */
    public static long at(long seed, long i) {
        return mix(seed + (i + 1) * GAMMA);
    }

    /** The 64 random bits of one sample of one block at one step. */
    public static long bits(long seed, long step, int block, int sample) {
        return at(at(at(seed, step), block), sample);
    }

    /**
     * Samples are kept when {@code bits >>> 11 < keepThreshold(rate)}: u = (bits >>> 11) / 2^53 < 1 - rate, exactly
     * (1 - rate scaled by 2^53 is exact, and k < x for an integer k is k < ceil(x)).
     */
    public static long keepThreshold(double rate) {
        checkRate(rate);
        return (long) Math.ceil((1.0 - rate) * 0x1p53);
    }

    /** timm's scale_by_keep: kept samples are divided by the keep probability, so the expectation is unchanged. */
    public static double keepScale(double rate) {
        checkRate(rate);
        return 1.0 / (1.0 - rate);
    }

    /** Per sample of a batch of {@code n}: {@link #keepScale} if kept, else 0. */
    public static double[] sampleScales(long seed, long step, int block, int n, double rate) {
        long threshold = keepThreshold(rate);
        double scale = keepScale(rate);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) s[i] = bits(seed, step, block, i) >>> 11 < threshold ? scale : 0.0;
        return s;
    }

    private static void checkRate(double rate) {
        if (!(rate >= 0 && rate < 1)) throw new IllegalArgumentException("drop-path rate must lie in [0, 1), got " + rate);
    }
}
