package dev.mambaout.model.cli;

import dev.mambaout.model.ParameterSpec;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Parameters drawn as a freshly constructed timm {@code MambaOut} has them: {@code _init_weights} gives every Conv2d
 * and Linear weight (depthwise included) {@code trunc_normal_(std=.02)} (cut at +-2, i.e. in practice untruncated)
 * and zero biases; LayerNorms keep PyTorch's ones and zeros; LayerScale gammas start at timm's {@code ls_init_value}
 * of 1e-6. Deterministic for a seed, so a CLI run with random weights can be repeated.
 */
public final class RandomInit {

    static final double STD = 0.02;
    static final double TRUNC = 2.0;
    static final float LAYER_SCALE_INIT = 1e-6f;

    private RandomInit() {}

    /** Values by timm name in the spec's order, PyTorch layout. */
    public static Map<String, float[]> draw(ParameterSpec spec, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (ParameterSpec.Param p : spec.params()) {
            float[] v = new float[Math.toIntExact(p.numel())];
            String name = p.name();
            if (p.shape().size() >= 2) {
                for (int i = 0; i < v.length; i++) {
                    double x;
                    do {
                        x = STD * rng.nextGaussian();
                    } while (Math.abs(x) > TRUNC);
                    v[i] = (float) x;
                }
            } else if (name.endsWith(".gamma")) {
                Arrays.fill(v, LAYER_SCALE_INIT);
            } else if (name.endsWith(".weight")) {
                // A rank-1 weight is a LayerNorm's: conv and linear weights have rank 4 and 2.
                Arrays.fill(v, 1f);
            }
            // Biases stay zero.
            out.put(name, v);
        }
        return out;
    }
}
