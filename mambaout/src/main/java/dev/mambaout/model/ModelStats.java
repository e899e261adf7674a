package dev.mambaout.model;

import dev.mambaout.graph.ops.Conv2d;
import dev.mambaout.graph.ops.GatedDwConv;
import dev.mambaout.graph.ops.LayerNorm;
import dev.mambaout.graph.ops.Linear;
import dev.mambaout.graph.ops.Op;

/**
 * Static cost of a MambaOut forward pass, counted the way fvcore's {@code FlopCountAnalysis} (the tool behind the
 * paper's and timm's GMACs) counts it: a convolution costs {@code Ho*Wo*Cout*Cin/groups*k*k} multiply-accumulates, a
 * linear layer {@code tokens*in*out}, and a LayerNorm fvcore's estimate of 5 operations per element (affine). Element-wise
 * work (GELU, the gate, LayerScale, residual adds, the mean pool) is not counted, as fvcore skips those ops.
 *
 * <p>The LayerNorm term is kept because the published numbers include it: without it Femto comes to 1.148 G (printed
 * 1.1) and Small to 8.936 G (8.9), against the paper's 1.2 G and 9.0 G.
 */
public final class ModelStats {

    /** fvcore's {@code norm_flop_jit}: 5 operations per input element when the norm has an affine transform. */
    public static final int LAYER_NORM_OPS_PER_ELEMENT = 5;

    private ModelStats() {}

    /** Counts split by kind, so callers can drop the LayerNorm estimate where they want pure MACs. */
    public record Macs(long conv, long linear, long layerNorm) {
        public long total() { return conv + linear + layerNorm; }

        public double gmacs() { return total() / 1e9; }
    }

    /** GMACs of one image of {@code h x w} pixels, as fvcore counts them (see the class comment). */
    public static double gmacs(MambaOutConfig c, int h, int w) {
        return count(c, h, w).gmacs();
    }

    /** Learnable parameters, exactly (from {@link ParameterSpec}). */
    public static long params(MambaOutConfig c) {
        return ParameterSpec.of(c).count();
    }

    /** The counts of one image, read off the model's graph (the one walk of the structure, {@link MambaOutGraph}). */
    public static Macs count(MambaOutConfig c, int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("image size must be positive, got " + h + "x" + w);
        long conv = 0, linear = 0, norm = 0;
        for (Op op : MambaOutGraph.inference(c, 1, h, w).graph().ops()) {
            switch (op) {
                case Conv2d cv -> {
                    int[] wd = cv.weight().shape().dims();     // [Cout, Cin, k, k]
                    conv += cv.out().numel() * wd[1] * wd[2] * wd[3];
                }
                case GatedDwConv g -> {
                    int[] wd = g.weight().shape().dims();      // [c, 1, k, k]: depthwise, one input channel each
                    conv += g.out().numel() / g.out().shape().channels() * wd[0] * wd[2] * wd[3];
                }
                case Linear l -> linear += l.out().numel() * l.weight().shape().dim(1);
                case LayerNorm n -> norm += n.x().numel();
                default -> { }   // element-wise ops, the permute and the mean pool: fvcore counts none of them
            }
        }
        return new Macs(conv, linear, LAYER_NORM_OPS_PER_ELEMENT * norm);
    }

}
