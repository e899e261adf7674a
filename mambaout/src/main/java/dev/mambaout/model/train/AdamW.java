package dev.mambaout.model.train;

import dev.mambaout.model.ParameterSpec;

import java.util.Map;

/**
 * PyTorch's {@code torch.optim.AdamW} (single-tensor path, no amsgrad) over float32 master weights:
 * <pre>
 *   p  -= lr * wd * p                       (decoupled weight decay, only where {@link #decays} says so)
 *   m   = b1 * m + (1 - b1) * g
 *   v   = b2 * v + (1 - b2) * g * g
 *   p  -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 * Each element is computed in double and stored as float (weights and both moments), which is deterministic and at
 * least as accurate as PyTorch's float32 arithmetic.
 */
public record AdamW(double beta1, double beta2, double eps, double weightDecay) {

    /** PyTorch's defaults except the weight decay, which the caller chooses. */
    public static AdamW withWeightDecay(double weightDecay) {
        return new AdamW(0.9, 0.999, 1e-8, weightDecay);
    }

    public AdamW {
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must lie in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must lie in [0, 1), got " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("eps must be > 0, got " + eps);
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be a finite number >= 0, got " + weightDecay);
        }
    }

    /**
     * Whether a parameter gets weight decay: timm's {@code param_groups_weight_decay} exempts every tensor of rank
     * one or less and every bias, which in MambaOut are the LayerNorm weights and biases, all biases and the
     * LayerScale gammas; convolution and linear weights decay.
     */
    public static boolean decays(ParameterSpec.Param p) { return decays(p.name(), p.shape().size()); }

    /** The same rule for a parameter of the given name and rank (a graph tensor: the GPU step's flat layout). */
    public static boolean decays(String name, int rank) { return rank > 1 && !name.endsWith(".bias"); }

    /**
     * One update of every parameter of the spec, in place.
     *
     * @param step the 1-based number of this update (the bias corrections use it)
     */
    public void update(ParameterSpec spec, Map<String, float[]> weights, Map<String, double[]> grads,
                       Map<String, float[]> expAvg, Map<String, float[]> expAvgSq, long step, double lr) {
        if (step < 1) throw new IllegalArgumentException("AdamW steps count from 1, got " + step);
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        double stepSize = lr / bc1;
        for (ParameterSpec.Param p : spec.params()) {
            float[] w = weights.get(p.name()), m = expAvg.get(p.name()), v = expAvgSq.get(p.name());
            double[] g = grads.get(p.name());
            if (g == null || g.length != w.length) {
                throw new IllegalArgumentException("gradient of '" + p.name() + "' has "
                        + (g == null ? "no values" : g.length + " values") + ", the parameter " + w.length);
            }
            double decay = decays(p) ? 1 - lr * weightDecay : 1;
            for (int i = 0; i < w.length; i++) {
                double gi = g[i];
                // The moments are float32 state, as PyTorch's: the update reads them back rounded.
                float mi = (float) (beta1 * m[i] + (1 - beta1) * gi);
                float vi = (float) (beta2 * v[i] + (1 - beta2) * gi * gi);
                m[i] = mi;
                v[i] = vi;
                w[i] = (float) (w[i] * decay - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + eps));
            }
        }
    }

    /**
     * Scales the gradients so their global L2 norm is at most {@code maxNorm}, as {@code clip_grad_norm_} does
     * (factor {@code maxNorm / (norm + 1e-6)}, applied only when below one); returns the norm before clipping.
     */
    public static double clipGradNorm(Map<String, double[]> grads, double maxNorm) {
        double sum = 0;
        for (double[] g : grads.values()) for (double x : g) sum += x * x;
        double norm = Math.sqrt(sum);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) for (double[] g : grads.values()) for (int i = 0; i < g.length; i++) g[i] *= coef;
        return norm;
    }
}
