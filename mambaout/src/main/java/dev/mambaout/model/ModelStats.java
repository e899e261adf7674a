package dev.mambaout.model;

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

    public static Macs count(MambaOutConfig c, int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("image size must be positive, got " + h + "x" + w);
        long conv = 0, linear = 0, norm = 0;
        int d0 = c.dim(0);
        // Stem: two 3x3 stride-2 convolutions (padding 1), each followed by LayerNorm (the first only with stemMidNorm).
        h = halve(h);
        w = halve(w);
        conv += (long) h * w * (d0 / 2) * c.inChans() * 9;
        if (c.stemMidNorm()) norm += (long) h * w * (d0 / 2);
        h = halve(h);
        w = halve(w);
        conv += (long) h * w * d0 * (d0 / 2) * 9;
        norm += (long) h * w * d0;
        for (int s = 0; s < c.stages(); s++) {
            int dim = c.dim(s);
            if (s > 0) {
                int prev = c.dim(s - 1);
                // Norm-first downsampling normalises the input grid; conv-then-norm the output grid.
                if (c.downsample() == MambaOutConfig.Downsample.CONV_NORM_FIRST) norm += (long) h * w * prev;
                h = halve(h);
                w = halve(w);
                conv += (long) h * w * dim * prev * 9;
                if (c.downsample() == MambaOutConfig.Downsample.CONV) norm += (long) h * w * dim;
            }
            long tokens = (long) h * w;
            int hidden = c.hidden(s);
            int k = c.kernelSize();
            for (int b = 0; b < c.depth(s); b++) {
                norm += tokens * dim;
                linear += tokens * dim * 2L * hidden;
                conv += tokens * c.convChannels(s) * k * k;
                linear += tokens * hidden * dim;
            }
        }
        int last = c.dims().getLast();
        int hh = c.headHidden();
        norm += last;
        linear += (long) last * hh;
        if (c.head() == MambaOutConfig.Head.MLP) norm += hh;
        linear += (long) hh * c.numClasses();
        return new Macs(conv, linear, LAYER_NORM_OPS_PER_ELEMENT * norm);
    }

    /** Output extent of a 3x3, stride-2, padding-1 convolution: floor((n + 2 - 3) / 2) + 1. */
    private static int halve(int n) {
        return (n - 1) / 2 + 1;
    }
}
