package dev.mambaout.model;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One MambaOut architecture. Every shape in the engine is derived from this record (see {@link ParameterSpec}); the
 * named variants reproduce timm's {@code mambaout_*} registrations exactly.
 *
 * @param depths          blocks per stage
 * @param dims            channels per stage
 * @param expansionRatio  block hidden width = (int) (expansionRatio * dim), as timm truncates
 * @param convRatio       depthwise-conv channels = (int) (convRatio * dim)
 * @param stemMidNorm     LayerNorm between the two stem convolutions (official models)
 * @param downsample      conv-then-norm (official) or norm-then-conv (timm's {@code _rw})
 * @param layerScale      per-channel LayerScale on each block's branch (timm's {@code _rw})
 * @param head            the official MLP head (norm, fc, act, norm, fc) or timm's {@code norm_mlp} one (norm, fc, act, fc)
 * @param cropPct         timm's evaluation crop fraction for the variant's pretrained weights
 * @param dropPathRate    stochastic depth of the last block (timm's {@code drop_path_rate}): blocks get timm's linear
 *                        schedule ({@link #dropPathRates}); training only, 0 (the variants' value) for none
 */
public record MambaOutConfig(
        String name,
        int inChans,
        int numClasses,
        List<Integer> depths,
        List<Integer> dims,
        double expansionRatio,
        double convRatio,
        int kernelSize,
        boolean stemMidNorm,
        Downsample downsample,
        boolean layerScale,
        Activation act,
        Head head,
        int imageSize,
        double cropPct,
        double dropPathRate) {

    public enum Downsample { CONV, CONV_NORM_FIRST }

    public enum Activation { GELU, SILU }

    public enum Head { MLP, NORM_MLP }

    /** LayerNorm epsilon everywhere in the model (timm's LayerNorm default). */
    public static final double LN_EPS = 1e-6;

    /** The head's hidden width is this multiple of the last stage's channels, in both head types. */
    public static final int HEAD_MLP_RATIO = 4;

    public MambaOutConfig {
        depths = List.copyOf(depths);
        dims = List.copyOf(dims);
        if (depths.isEmpty() || depths.size() != dims.size()) {
            throw new IllegalArgumentException("depths " + depths + " and dims " + dims + " must be non-empty and of equal length");
        }
        for (int i = 0; i < dims.size(); i++) {
            if (dims.get(i) < 2) throw new IllegalArgumentException("dims[" + i + "] = " + dims.get(i) + " must be >= 2");
            if (depths.get(i) < 0) throw new IllegalArgumentException("depths[" + i + "] = " + depths.get(i) + " must be >= 0");
            int hidden = (int) (expansionRatio * dims.get(i));
            int conv = (int) (convRatio * dims.get(i));
            if (conv < 1 || conv > hidden) {
                throw new IllegalArgumentException("stage " + i + ": conv channels " + conv + " must lie in [1, hidden " + hidden + "]");
            }
        }
        if (inChans < 1) throw new IllegalArgumentException("inChans must be >= 1, got " + inChans);
        if (numClasses < 1) throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        if (kernelSize < 1 || kernelSize % 2 == 0) throw new IllegalArgumentException("kernelSize must be odd and >= 1, got " + kernelSize);
        if (imageSize < 1) throw new IllegalArgumentException("imageSize must be >= 1, got " + imageSize);
        if (!(cropPct > 0 && cropPct <= 1)) throw new IllegalArgumentException("cropPct must lie in (0, 1], got " + cropPct);
        if (!(dropPathRate >= 0 && dropPathRate < 1)) {
            throw new IllegalArgumentException("dropPathRate must lie in [0, 1), got " + dropPathRate);
        }
    }

    /** Without stochastic depth, as every named variant is. */
    public MambaOutConfig(String name, int inChans, int numClasses, List<Integer> depths, List<Integer> dims,
                          double expansionRatio, double convRatio, int kernelSize, boolean stemMidNorm,
                          Downsample downsample, boolean layerScale, Activation act, Head head, int imageSize,
                          double cropPct) {
        this(name, inChans, numClasses, depths, dims, expansionRatio, convRatio, kernelSize, stemMidNorm, downsample,
                layerScale, act, head, imageSize, cropPct, 0.0);
    }

    public int stages() { return dims.size(); }

    public int dim(int stage) { return dims.get(stage); }

    public int depth(int stage) { return depths.get(stage); }

    /** Width of g and of cat(i, conv(c)) in a block of this stage; fc1 produces twice this. */
    public int hidden(int stage) { return (int) (expansionRatio * dims.get(stage)); }

    /** Channels the depthwise convolution covers (the last slice of fc1's output). */
    public int convChannels(int stage) { return (int) (convRatio * dims.get(stage)); }

    public int headHidden() { return HEAD_MLP_RATIO * dims.getLast(); }

    public int totalBlocks() { return depths.stream().mapToInt(Integer::intValue).sum(); }

    /**
     * Each block's drop-path rate in network order: timm's {@code torch.linspace(0, drop_path_rate, sum(depths))} in
     * float32, with the formula of torch's scalar kernel (from the start for the first half, back from the end for the
     * rest; its vectorised lanes may differ in the last float bit). The first block's is 0, so it has no drop path.
     */
    public double[] dropPathRates() {
        int n = totalBlocks();
        double[] r = new double[n];
        if (n < 2) return r;   // torch.linspace(0, x, 1) is [0]
        float end = (float) dropPathRate, step = end / (n - 1);
        for (int i = 0; i < n; i++) r[i] = i < n / 2 ? step * i : end - step * (n - 1 - i);
        return r;
    }

    public MambaOutConfig withNumClasses(int n) {
        return new MambaOutConfig(name, inChans, n, depths, dims, expansionRatio, convRatio, kernelSize, stemMidNorm,
                downsample, layerScale, act, head, imageSize, cropPct, dropPathRate);
    }

    public MambaOutConfig withInChans(int c) {
        return new MambaOutConfig(name, c, numClasses, depths, dims, expansionRatio, convRatio, kernelSize, stemMidNorm,
                downsample, layerScale, act, head, imageSize, cropPct, dropPathRate);
    }

    public MambaOutConfig withDropPathRate(double rate) {
        return new MambaOutConfig(name, inChans, numClasses, depths, dims, expansionRatio, convRatio, kernelSize,
                stemMidNorm, downsample, layerScale, act, head, imageSize, cropPct, rate);
    }

    /** An official-structure model (stem mid norm, conv-then-norm downsample, MLP head, GELU). */
    public static MambaOutConfig official(String name, List<Integer> depths, List<Integer> dims) {
        return new MambaOutConfig(name, 3, 1000, depths, dims, 8.0 / 3.0, 1.0, 7, true, Downsample.CONV, false,
                Activation.GELU, Head.MLP, 224, 1.0);
    }

    /** A timm {@code _rw} structure (no stem mid norm, norm-first downsample, LayerScale, norm_mlp head). */
    public static MambaOutConfig rw(String name, List<Integer> depths, List<Integer> dims, double expansion,
                                    double convRatio, Activation act, double cropPct) {
        return new MambaOutConfig(name, 3, 1000, depths, dims, expansion, convRatio, 7, false, Downsample.CONV_NORM_FIRST,
                true, act, Head.NORM_MLP, 224, cropPct);
    }

    private static final List<Integer> BASE = List.of(128, 256, 512, 768);
    private static final List<Integer> SMALL = List.of(96, 192, 384, 576);

    /** The named variants, in timm's order. */
    public static final List<MambaOutConfig> VARIANTS = List.of(
            official("femto", List.of(3, 3, 9, 3), List.of(48, 96, 192, 288)),
            official("kobe", List.of(3, 3, 15, 3), List.of(48, 96, 192, 288)),
            official("tiny", List.of(3, 3, 9, 3), SMALL),
            official("small", List.of(3, 4, 27, 3), SMALL),
            official("base", List.of(3, 4, 27, 3), BASE),
            rw("small_rw", List.of(3, 4, 27, 3), SMALL, 8.0 / 3.0, 1.0, Activation.GELU, 1.0),
            rw("base_short_rw", List.of(3, 3, 25, 3), BASE, 3.0, 1.25, Activation.GELU, 0.95),
            rw("base_tall_rw", List.of(3, 4, 30, 3), BASE, 2.5, 1.25, Activation.GELU, 0.95),
            rw("base_wide_rw", List.of(3, 4, 27, 3), BASE, 3.0, 1.5, Activation.SILU, 0.95),
            rw("base_plus_rw", List.of(3, 4, 30, 3), BASE, 3.0, 1.5, Activation.SILU, 1.0));

    private static final Map<String, MambaOutConfig> BY_NAME =
            VARIANTS.stream().collect(Collectors.toUnmodifiableMap(MambaOutConfig::name, Function.identity()));

    /** A named variant; accepts timm's full name too ({@code mambaout_femto}). */
    public static MambaOutConfig variant(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        if (key.startsWith("mambaout_")) key = key.substring("mambaout_".length());
        MambaOutConfig c = BY_NAME.get(key);
        if (c == null) {
            throw new IllegalArgumentException("unknown MambaOut variant '" + name + "'; known: "
                    + Stream.of(VARIANTS.toArray(MambaOutConfig[]::new)).map(MambaOutConfig::name).collect(Collectors.joining(", ")));
        }
        return c;
    }
}
