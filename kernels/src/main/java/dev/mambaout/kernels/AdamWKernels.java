package dev.mambaout.kernels;

import java.util.Arrays;

/**
 * The optimizer family (adamw.cu): geometry of its three kernels, the layouts of the hyperparameter buffer and the
 * workspace (mirrored by the ADAMW_H_* and ADAMW_WS_* defines there), the flat layout that makes the weight-decay mask
 * one split index, and the update the kernels compute, on the host.
 *
 * <p>A step is adamw_sumsq_partial (grid {@link #sumsqGrid}), adamw_finalize (one block; the number of partials is the
 * sumsq grid) and adamw_step, in that order on one stream. The host only writes {@link #HYPER_DOUBLES} doubles
 * (lr and step change per step), so the three launches can be captured once in a CUDA graph and replayed.
 */
public final class AdamWKernels {

    public static final int SUMSQ_BLOCK = 256;
    /** The sumsq grid's cap, so the partials fit the workspace; 1024 x 256 threads is about one wave on 132 SMs. */
    public static final int MAX_PARTIALS = 1024;
    public static final int FINALIZE_BLOCK = 256;
    public static final int STEP_BLOCK = 256;
    /** Step grid cap: stride + index must stay below 2^32 (unsigned indices); grid-stride covers the rest. */
    public static final int STEP_MAX_GRID = 1 << 20;

    // The hyperparameter buffer: f64 indices (adamw.cu ADAMW_H_*).
    public static final int HYPER_LR = 0;
    public static final int HYPER_BETA1 = 1;
    public static final int HYPER_BETA2 = 2;
    public static final int HYPER_EPS = 3;
    public static final int HYPER_WEIGHT_DECAY = 4;
    /** The 1-based step number, as a double. */
    public static final int HYPER_STEP = 5;
    /** The clipping norm; zero (or negative) turns clipping off, as {@code clipGrad <= 0} does in the CPU trainer. */
    public static final int HYPER_MAX_NORM = 6;
    /**
     * Not read by AdamW: the index of this rank's first sample in the global batch (data parallel; 0 on one GPU),
     * which drop_path adds to each sample's index so every sample of the global batch draws its own mask
     * (droppath.cu). {@link Hyper#toArray} writes it as zero; the training program sets it.
     */
    public static final int HYPER_SAMPLE_OFFSET = 7;
    public static final int HYPER_DOUBLES = 8;
    public static final int HYPER_BYTES = HYPER_DOUBLES * Double.BYTES;

    // The workspace header: f32 indices of what adamw_finalize writes (adamw.cu ADAMW_WS_*); readable for debugging.
    public static final int WS_SCALE = 0;
    public static final int WS_BETA1 = 1;
    public static final int WS_ONE_MINUS_BETA1 = 2;
    public static final int WS_BETA2 = 3;
    public static final int WS_ONE_MINUS_BETA2 = 4;
    public static final int WS_EPS = 5;
    public static final int WS_DECAY = 6;
    public static final int WS_STEP_SIZE = 7;
    public static final int WS_BC2_SQRT = 8;
    public static final int WS_HEADER_BYTES = 64;
    /** Header plus one f64 partial per sumsq block; the buffer must be 16-byte aligned (arena slices are). */
    public static final int WORKSPACE_BYTES = WS_HEADER_BYTES + MAX_PARTIALS * Double.BYTES;

    /** Slices of {@link #plan} start at multiples of this many elements: 32 bytes of f32, 16 bytes of the bf16 copy. */
    public static final int SLICE_ALIGN = 8;

    /** The clipping formula's constant, as in torch's clip_grad_norm_ and AdamW.clipGradNorm. */
    public static final double CLIP_EPS = 1e-6;

    private AdamWKernels() {}

    /** Blocks of the partial sums of squares (= partials for finalize): a function of n alone, so the norm is reproducible. */
    public static int sumsqGrid(long n) {
        checkCount(n);
        long vectors = (n + 3) / 4;
        return (int) Math.min(MAX_PARTIALS, (vectors + SUMSQ_BLOCK - 1) / SUMSQ_BLOCK);
    }

    public static LaunchGeometry sumsq(long n) { return LaunchGeometry.linear(sumsqGrid(n), SUMSQ_BLOCK); }

    public static LaunchGeometry finalizeNorm() { return LaunchGeometry.linear(1, FINALIZE_BLOCK); }

    /** One thread per float4 of the flat buffers, capped (grid-stride). */
    public static LaunchGeometry step(long n) {
        checkCount(n);
        long vectors = (n + 3) / 4;
        return LaunchGeometry.linear((int) Math.min(STEP_MAX_GRID, (vectors + STEP_BLOCK - 1) / STEP_BLOCK), STEP_BLOCK);
    }

    private static void checkCount(long n) {
        if (n <= 0 || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("adamw: element count must be in [1, 2^31 - 1], was " + n);
        }
    }

    /**
     * One step's hyperparameters as the kernels read them.
     *
     * @param step    the 1-based number of this update (bias corrections)
     * @param maxNorm the global gradient norm to clip to; 0 for no clipping
     */
    public record Hyper(double lr, double beta1, double beta2, double eps, double weightDecay, long step,
                        double maxNorm) {

        public Hyper {
            if (!(lr >= 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("adamw: lr must be finite and >= 0, got " + lr);
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("adamw: beta1 must lie in [0, 1), got " + beta1);
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("adamw: beta2 must lie in [0, 1), got " + beta2);
            if (!(eps > 0) || !Double.isFinite(eps)) throw new IllegalArgumentException("adamw: eps must be > 0, got " + eps);
            if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
                throw new IllegalArgumentException("adamw: weight decay must be a finite number >= 0, got " + weightDecay);
            }
            if (step < 1 || step > (1L << 53)) throw new IllegalArgumentException("adamw: steps count from 1, got " + step);
            if (!(maxNorm >= 0)) throw new IllegalArgumentException("adamw: maxNorm must be >= 0 (0: no clipping), got " + maxNorm);
        }

        /** The same settings at another step and learning rate (what changes between graph replays). */
        public Hyper at(long step, double lr) { return new Hyper(lr, beta1, beta2, eps, weightDecay, step, maxNorm); }

        /** The buffer's {@link #HYPER_DOUBLES} values in layout order. */
        public double[] toArray() {
            double[] h = new double[HYPER_DOUBLES];
            h[HYPER_LR] = lr;
            h[HYPER_BETA1] = beta1;
            h[HYPER_BETA2] = beta2;
            h[HYPER_EPS] = eps;
            h[HYPER_WEIGHT_DECAY] = weightDecay;
            h[HYPER_STEP] = step;
            h[HYPER_MAX_NORM] = maxNorm;
            return h;
        }
    }

    /**
     * Where each parameter lives in the flat buffers: decaying parameters first (in their given order), then the exempt
     * ones, each slice starting at a multiple of {@link #SLICE_ALIGN}; elements [0, decayCount) decay. Padding between
     * slices must be zero in the weights, gradients and moments.
     */
    public record Layout(long[] offsets, long decayCount, long total) {
        public Layout {
            offsets = offsets.clone();
        }

        @Override
        public long[] offsets() { return offsets.clone(); }

        public long offset(int param) { return offsets[param]; }

        @Override
        public boolean equals(Object o) {
            return o instanceof Layout l && Arrays.equals(offsets, l.offsets) && decayCount == l.decayCount && total == l.total;
        }

        @Override
        public int hashCode() { return Arrays.hashCode(offsets) * 31 + Long.hashCode(decayCount * 31 + total); }

        @Override
        public String toString() {
            return "Layout[offsets=" + Arrays.toString(offsets) + ", decayCount=" + decayCount + ", total=" + total + "]";
        }
    }

    /** The flat layout of parameters of {@code numel[i]} elements, {@code decays[i]} saying which get weight decay. */
    public static Layout plan(long[] numel, boolean[] decays) {
        if (numel.length != decays.length) {
            throw new IllegalArgumentException("adamw: " + numel.length + " sizes but " + decays.length + " decay flags");
        }
        long[] offsets = new long[numel.length];
        long at = 0, decayCount = 0;
        for (int pass = 0; pass < 2; pass++) {
            boolean decaying = pass == 0;
            for (int i = 0; i < numel.length; i++) {
                if (decays[i] != decaying) continue;
                if (numel[i] <= 0) throw new IllegalArgumentException("adamw: parameter " + i + " has " + numel[i] + " elements");
                offsets[i] = at;
                at = Math.addExact(at, numel[i]);
                if (decaying) decayCount = at;
                at = (at + SLICE_ALIGN - 1) / SLICE_ALIGN * SLICE_ALIGN;
            }
        }
        return new Layout(offsets, decayCount, Math.max(at, 0));
    }

    /**
     * The kernels' step on the host, in double with float state as AdamW.java computes it (clipping as
     * AdamW.clipGradNorm, the gradients summed in index order): updates p, m, v in place and returns the gradient
     * norm before clipping. {@code g} is not changed. The GPU computes the same in f32 (adamw.cu's header).
     */
    public static double reference(float[] p, float[] m, float[] v, float[] g, long decayCount, double[] hyper) {
        int n = p.length;
        if (m.length != n || v.length != n || g.length != n) {
            throw new IllegalArgumentException("adamw reference: p, m, v, g lengths " + n + ", " + m.length + ", "
                    + v.length + ", " + g.length);
        }
        double lr = hyper[HYPER_LR], beta1 = hyper[HYPER_BETA1], beta2 = hyper[HYPER_BETA2], eps = hyper[HYPER_EPS];
        double wd = hyper[HYPER_WEIGHT_DECAY], step = hyper[HYPER_STEP], maxNorm = hyper[HYPER_MAX_NORM];
        double sum = 0;
        for (float x : g) sum += (double) x * x;
        double norm = Math.sqrt(sum);
        double coef = (maxNorm > 0 ? maxNorm : Double.POSITIVE_INFINITY) / (norm + CLIP_EPS);
        boolean clip = coef < 1;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        double stepSize = lr / bc1;
        double decayFactor = 1 - lr * wd;
        for (int i = 0; i < n; i++) {
            double gi = clip ? g[i] * coef : g[i];
            float mi = (float) (beta1 * m[i] + (1 - beta1) * gi);
            float vi = (float) (beta2 * v[i] + (1 - beta2) * gi * gi);
            m[i] = mi;
            v[i] = vi;
            double decay = i < decayCount ? decayFactor : 1;
            p[i] = (float) (p[i] * decay - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + eps));
        }
        return norm;
    }
}
