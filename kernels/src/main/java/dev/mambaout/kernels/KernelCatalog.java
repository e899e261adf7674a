package dev.mambaout.kernels;

import dev.mambaout.natives.ParamKind;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.mambaout.natives.ParamKind.F32;
import static dev.mambaout.natives.ParamKind.I32;
import static dev.mambaout.natives.ParamKind.I64;
import static dev.mambaout.natives.ParamKind.PTR;

/** Every kernel in {@code src/main/cuda} by name, with its parameter layout, so a launch is checked before it is made. */
public final class KernelCatalog {

    public static final KernelSpec SMOKE_EMPTY = spec("smoke", "smoke_empty");
    public static final KernelSpec SMOKE_FILL = spec("smoke", "smoke_fill", "y", PTR, "value", F32, "n", I32);
    public static final KernelSpec SMOKE_AXPY = spec("smoke", "smoke_axpy", "y", PTR, "x", PTR, "a", F32, "n", I32);

    public static final KernelSpec LAYERNORM_FORWARD = spec("layernorm", "layernorm_forward",
            "out", PTR, "mean", PTR, "rstd", PTR, "inp", PTR, "weight", PTR, "bias", PTR, "N", I32, "C", I32,
            "eps", F32);
    public static final KernelSpec LAYERNORM_BACKWARD = spec("layernorm", "layernorm_backward",
            "dinp", PTR, "dweight_partial", PTR, "dbias_partial", PTR, "dout", PTR, "inp", PTR, "weight", PTR,
            "mean", PTR, "rstd", PTR, "N", I32, "C", I32, "rows_per_block", I32);
    public static final KernelSpec LAYERNORM_BACKWARD_REDUCE = spec("layernorm", "layernorm_backward_reduce",
            "dweight", PTR, "dbias", PTR, "dweight_partial", PTR, "dbias_partial", PTR, "num_partials", I32, "C", I32);

    // Fused depthwise conv + gating (gated_dwconv.cu): x [tokens, 2*hidden] = (g | i | c) NHWC, weight packed
    // tap-major [k*k, conv_channels] f32, bias [conv_channels] f32, act 0 = GELU (erf), 1 = SiLU -> out [tokens, hidden].
    public static final KernelSpec GATED_DWCONV_FORWARD_F32 = gatedDwConv("f32");
    public static final KernelSpec GATED_DWCONV_FORWARD_BF16 = gatedDwConv("bf16");
    // The same for k = 7 with 16-byte units and aligned x, out (gated_dwconv_rings.cuh): C = 1 or 4 output columns per
    // lane, dynamic shared memory GatedDwConvKernels.ringSharedBytes. Geometry: GatedDwConvKernels.ringGeometry.
    public static final KernelSpec GATED_DWCONV_FORWARD_RINGS_F32_C1 = gatedDwConvRings("f32", 1);
    public static final KernelSpec GATED_DWCONV_FORWARD_RINGS_F32_C4 = gatedDwConvRings("f32", 4);
    public static final KernelSpec GATED_DWCONV_FORWARD_RINGS_BF16_C1 = gatedDwConvRings("bf16", 1);
    public static final KernelSpec GATED_DWCONV_FORWARD_RINGS_BF16_C4 = gatedDwConvRings("bf16", 4);

    // Its backward (gated_dwconv.cu, the BACKWARD section): dy [tokens, hidden] -> dx [tokens, 2*hidden] = (dg | di |
    // dc) in x's type and per-block sums partial [splits, k*k + 1, conv] f32; then the reduce sums them in a fixed
    // order into dweight [k*k, conv] (tap-major) and dbias [conv], f32. k = 1, 3, 5, 7. Geometry: GatedDwConvKernels.
    public static final KernelSpec GATED_DWCONV_BACKWARD_F32 = gatedDwConvBackward("f32");
    public static final KernelSpec GATED_DWCONV_BACKWARD_BF16 = gatedDwConvBackward("bf16");
    public static final KernelSpec GATED_DWCONV_BACKWARD_REDUCE = spec("gated_dwconv", "gated_dwconv_backward_reduce",
            "dweight", PTR, "dbias", PTR, "partial", PTR, "num_partials", I32, "conv_channels", I32,
            "kernel_size", I32);

    // LayerNorm with bf16 activations (f32 weight, bias, statistics and math).
    public static final KernelSpec LAYERNORM_FORWARD_BF16 = spec("layernorm", "layernorm_forward_bf16",
            "out", PTR, "mean", PTR, "rstd", PTR, "inp", PTR, "weight", PTR, "bias", PTR, "N", I32, "C", I32,
            "eps", F32);

    // LayerNorm from the f32 residual stream of a bf16 program to a bf16 GEMM operand.
    public static final KernelSpec LAYERNORM_FORWARD_F32_BF16 = spec("layernorm", "layernorm_forward_f32_bf16",
            "out", PTR, "mean", PTR, "rstd", PTR, "inp", PTR, "weight", PTR, "bias", PTR, "N", I32, "C", I32,
            "eps", F32);

    // im2col for the k x k stride-s convolutions (im2col.cu): col [N*Ho*Wo, col_stride], column (ky*k + kx)*C + c,
    // zero past k*k*C; from an NHWC activation, or from the user's NCHW f32 batch (the stem).
    public static final KernelSpec IM2COL_NHWC_F32 = im2col("im2col_nhwc_f32", "H", "W", "C");
    public static final KernelSpec IM2COL_NHWC_BF16 = im2col("im2col_nhwc_bf16", "H", "W", "C");
    public static final KernelSpec IM2COL_NHWC_F32_BF16 = im2col("im2col_nhwc_f32_bf16", "H", "W", "C");
    public static final KernelSpec IM2COL_NCHW_F32 = im2col("im2col_nchw_f32", "C", "H", "W");
    public static final KernelSpec IM2COL_NCHW_BF16 = im2col("im2col_nchw_bf16", "C", "H", "W");

    // Pointwise activation (elementwise.cu): act 0 = GELU (erf), 1 = SiLU.
    public static final KernelSpec ACT_FORWARD_F32 = spec("elementwise", "act_forward_f32",
            "out", PTR, "x", PTR, "n", I32, "act", I32);
    public static final KernelSpec ACT_FORWARD_BF16 = spec("elementwise", "act_forward_bf16",
            "out", PTR, "x", PTR, "n", I32, "act", I32);

    // Head (head.cu): mean over H*W of x [N, HW, C], then LayerNorm over C -> out [N, C].
    public static final KernelSpec MEAN_HW_LAYERNORM_F32 = meanHwLayerNorm("f32");
    public static final KernelSpec MEAN_HW_LAYERNORM_BF16 = meanHwLayerNorm("bf16");
    public static final KernelSpec MEAN_HW_LAYERNORM_F32_BF16 = meanHwLayerNorm("f32_bf16");

    // Softmax cross-entropy (cross_entropy.cu), training: logits [N, classes] f32/bf16, labels I32 [N] ->
    // loss_rows f32 [N] and dlogits [N, classes] in the logits' dtype (= grad_scale * (softmax - q)); then the mean
    // loss and the count of labels outside [0, classes) in one f32 / one int, deterministically (no atomics).
    public static final KernelSpec CROSS_ENTROPY_F32 = crossEntropy("f32");
    public static final KernelSpec CROSS_ENTROPY_BF16 = crossEntropy("bf16");
    public static final KernelSpec CROSS_ENTROPY_MEAN = spec("cross_entropy", "cross_entropy_mean",
            "loss_mean", PTR, "bad_labels", PTR, "loss_rows", PTR, "labels", PTR, "N", I32, "classes", I32);

    // Backward of the head's mean over H*W (head.cu): dx [N, HW, C] = dy [N, C] / HW; f32, bf16, f32 dy -> bf16 dx.
    public static final KernelSpec MEAN_HW_BACKWARD_F32 = meanHwBackward("f32");
    public static final KernelSpec MEAN_HW_BACKWARD_BF16 = meanHwBackward("bf16");
    public static final KernelSpec MEAN_HW_BACKWARD_F32_BF16 = meanHwBackward("f32_bf16");
    // Optimizer (adamw.cu): flat f32 p, g, m, v (AdamWKernels has the layouts); launched in this order every step.
    public static final KernelSpec ADAMW_SUMSQ_PARTIAL = spec("adamw", "adamw_sumsq_partial",
            "workspace", PTR, "g", PTR, "n", I32);
    public static final KernelSpec ADAMW_FINALIZE = spec("adamw", "adamw_finalize",
            "workspace", PTR, "norm", PTR, "hyper", PTR, "num_partials", I32);
    public static final KernelSpec ADAMW_STEP = spec("adamw", "adamw_step",
            "p", PTR, "m", PTR, "v", PTR, "p_bf16", PTR, "g", PTR, "workspace", PTR, "n", I32, "decay_count", I32);

    // Conv backward (im2col.cu, col2im section): dx [N,H,W,C] = the adjoint of im2col applied to dcol [N*Ho*Wo,
    // col_stride], a gather; accumulate 0 = overwrite dx, 1 = add to it. f32, bf16, and bf16 dcol -> f32 dx.
    public static final KernelSpec COL2IM_NHWC_F32 = col2im("col2im_nhwc_f32");
    public static final KernelSpec COL2IM_NHWC_BF16 = col2im("col2im_nhwc_bf16");
    public static final KernelSpec COL2IM_NHWC_BF16_F32 = col2im("col2im_nhwc_bf16_f32");
    // Pointwise backward and casts (elementwise.cu): dx = dy * act'(x), act 0 = GELU (erf), 1 = SiLU; f32 <-> bf16.
    public static final KernelSpec ACT_BACKWARD_F32 = spec("elementwise", "act_backward_f32",
            "dx", PTR, "x", PTR, "dy", PTR, "n", I32, "act", I32);
    public static final KernelSpec ACT_BACKWARD_BF16 = spec("elementwise", "act_backward_bf16",
            "dx", PTR, "x", PTR, "dy", PTR, "n", I32, "act", I32);
    public static final KernelSpec CAST_F32_BF16 = spec("elementwise", "cast_f32_bf16", "out", PTR, "x", PTR, "n", I32);
    public static final KernelSpec CAST_BF16_F32 = spec("elementwise", "cast_bf16_f32", "out", PTR, "x", PTR, "n", I32);
    // LayerNorm backward on other storage types (layernorm.cu), layernorm_backward_<dout>_<x>_<dinp>[_acc]: the
    // parameters of layernorm_backward, its geometry and its reduce; _acc adds dx into dinp (f32, the residual
    // gradient) instead of overwriting it. LayerNormBackwardLaunch picks one by the tensors' dtypes.
    private static final Object[] LAYERNORM_BACKWARD_PARAMS = {"dinp", PTR, "dweight_partial", PTR,
            "dbias_partial", PTR, "dout", PTR, "inp", PTR, "weight", PTR, "mean", PTR, "rstd", PTR, "N", I32, "C", I32,
            "rows_per_block", I32};
    public static final KernelSpec LAYERNORM_BACKWARD_F32_F32_F32_ACC =
            spec("layernorm", "layernorm_backward_f32_f32_f32_acc", LAYERNORM_BACKWARD_PARAMS);
    public static final KernelSpec LAYERNORM_BACKWARD_BF16_F32_F32_ACC =
            spec("layernorm", "layernorm_backward_bf16_f32_f32_acc", LAYERNORM_BACKWARD_PARAMS);
    public static final KernelSpec LAYERNORM_BACKWARD_BF16_F32_F32 =
            spec("layernorm", "layernorm_backward_bf16_f32_f32", LAYERNORM_BACKWARD_PARAMS);
    public static final KernelSpec LAYERNORM_BACKWARD_F32_F32_BF16 =
            spec("layernorm", "layernorm_backward_f32_f32_bf16", LAYERNORM_BACKWARD_PARAMS);
    public static final KernelSpec LAYERNORM_BACKWARD_BF16_F32_BF16 =
            spec("layernorm", "layernorm_backward_bf16_f32_bf16", LAYERNORM_BACKWARD_PARAMS);
    public static final KernelSpec LAYERNORM_BACKWARD_BF16_BF16_BF16 =
            spec("layernorm", "layernorm_backward_bf16_bf16_bf16", LAYERNORM_BACKWARD_PARAMS);

    // LayerScale of timm's `_rw` blocks, training (layerscale.cu): x [tokens, C] f32 or bf16, shortcut / out / dy /
    // gamma / dgamma f32. Forward out = shortcut + gamma * x (out may be shortcut); backward dx = gamma * dy in x's
    // type plus partial [blocks, C] f32 of dy * x, which the finalize sums in a fixed order into dgamma (accumulate 0 =
    // overwrite, 1 = add). Geometry: LayerScaleKernels.
    public static final KernelSpec LAYERSCALE_RESIDUAL_FORWARD_F32 = layerScaleForward("f32");
    public static final KernelSpec LAYERSCALE_RESIDUAL_FORWARD_BF16 = layerScaleForward("bf16");
    public static final KernelSpec LAYERSCALE_BACKWARD_F32 = layerScaleBackward("f32");
    public static final KernelSpec LAYERSCALE_BACKWARD_BF16 = layerScaleBackward("bf16");
    public static final KernelSpec LAYERSCALE_BACKWARD_FINALIZE = spec("layerscale", "layerscale_backward_finalize",
            "dgamma", PTR, "partial", PTR, "blocks", I32, "C", I32, "accumulate", I32);

    // Stochastic depth (droppath.cu): the step from the hyperparameter buffer, keep iff the sample's 53 random bits
    // are below threshold; gamma may be null (no LayerScale). Geometry: DropPathKernels.geometry.
    public static final KernelSpec DROPPATH_RESIDUAL_FORWARD_F32 = dropPathForward("f32");
    public static final KernelSpec DROPPATH_RESIDUAL_FORWARD_BF16 = dropPathForward("bf16");
    public static final KernelSpec DROPPATH_BACKWARD_F32 = dropPathBackward("f32");
    public static final KernelSpec DROPPATH_BACKWARD_BF16 = dropPathBackward("bf16");

    // Weight gradients of narrow layers, training (wgrad.cu): dY [rows, M], X [rows, N] f32 or bf16 (one type), M, N
    // <= 64 -> partial [blocks, M*N + M] f32; then the reduce into dW [M, N] and db [M], f32. Geometry: WgradKernels.
    public static final KernelSpec WGRAD_PARTIAL_F32 = wgradPartial("f32");
    public static final KernelSpec WGRAD_PARTIAL_BF16 = wgradPartial("bf16");
    public static final KernelSpec WGRAD_REDUCE = spec("wgrad", "wgrad_reduce", "dweight", PTR, "dbias", PTR,
            "partial", PTR, "num_partials", I32, "M", I32, "N", I32);

    // The stem's first conv fused with its LayerNorm and act, inference (stem.cu): x [N, C, H, W] f32 -> out [N, Ho,
    // Wo, Co] f32 or bf16; packed = StemKernels.pack (taps x width, bias, gamma, beta); one kernel per channel width
    // c<width> >= Co; norm 0/1, act 0 = GELU, 1 = SiLU. Geometry and shared memory: StemKernels.
    public static final List<KernelSpec> STEM_CONV_FORWARD_F32 = stems("f32");
    public static final List<KernelSpec> STEM_CONV_FORWARD_BF16 = stems("bf16");

    // LayerNorm fused into the Linear that reads it, inference (ln_linear.cu): x [T, K] f32, gamma, beta [K] f32, w [N,
    // K] bf16, bias [N] f32 -> y [T, N] bf16; nb = the columns of a block's W slice. One kernel per K. Geometry and
    // shared memory: LnLinearKernels.
    public static final List<KernelSpec> LN_LINEAR_FORWARD_BF16 = lnLinears();

    private static final Map<String, KernelSpec> BY_NAME;

    static {
        Map<String, KernelSpec> m = new LinkedHashMap<>();
        for (KernelSpec s : List.of(SMOKE_EMPTY, SMOKE_FILL, SMOKE_AXPY, LAYERNORM_FORWARD, LAYERNORM_BACKWARD,
                LAYERNORM_BACKWARD_REDUCE, GATED_DWCONV_FORWARD_F32, GATED_DWCONV_FORWARD_BF16,
                GATED_DWCONV_FORWARD_RINGS_F32_C1, GATED_DWCONV_FORWARD_RINGS_F32_C4, GATED_DWCONV_FORWARD_RINGS_BF16_C1,
                GATED_DWCONV_FORWARD_RINGS_BF16_C4, LAYERNORM_FORWARD_BF16,
                IM2COL_NHWC_F32, IM2COL_NHWC_BF16, IM2COL_NCHW_F32, IM2COL_NCHW_BF16, ACT_FORWARD_F32, ACT_FORWARD_BF16,
                MEAN_HW_LAYERNORM_F32, MEAN_HW_LAYERNORM_BF16, LAYERNORM_FORWARD_F32_BF16, IM2COL_NHWC_F32_BF16,
                MEAN_HW_LAYERNORM_F32_BF16,
                GATED_DWCONV_BACKWARD_F32, GATED_DWCONV_BACKWARD_BF16, GATED_DWCONV_BACKWARD_REDUCE,
                CROSS_ENTROPY_F32, CROSS_ENTROPY_BF16, CROSS_ENTROPY_MEAN,
                MEAN_HW_BACKWARD_F32, MEAN_HW_BACKWARD_BF16, MEAN_HW_BACKWARD_F32_BF16,
                ADAMW_SUMSQ_PARTIAL, ADAMW_FINALIZE, ADAMW_STEP,
                COL2IM_NHWC_F32, COL2IM_NHWC_BF16, COL2IM_NHWC_BF16_F32, ACT_BACKWARD_F32, ACT_BACKWARD_BF16,
                CAST_F32_BF16, CAST_BF16_F32,
                LAYERNORM_BACKWARD_F32_F32_F32_ACC, LAYERNORM_BACKWARD_BF16_F32_F32_ACC, LAYERNORM_BACKWARD_BF16_F32_F32,
                LAYERNORM_BACKWARD_F32_F32_BF16, LAYERNORM_BACKWARD_BF16_F32_BF16, LAYERNORM_BACKWARD_BF16_BF16_BF16,
                LAYERSCALE_RESIDUAL_FORWARD_F32, LAYERSCALE_RESIDUAL_FORWARD_BF16, LAYERSCALE_BACKWARD_F32,
                LAYERSCALE_BACKWARD_BF16, LAYERSCALE_BACKWARD_FINALIZE,
                DROPPATH_RESIDUAL_FORWARD_F32, DROPPATH_RESIDUAL_FORWARD_BF16, DROPPATH_BACKWARD_F32,
                DROPPATH_BACKWARD_BF16, WGRAD_PARTIAL_F32, WGRAD_PARTIAL_BF16, WGRAD_REDUCE)) {
            if (m.put(s.name(), s) != null) throw new ExceptionInInitializerError("duplicate kernel " + s.name());
        }
        for (KernelSpec s : concat(concat(STEM_CONV_FORWARD_F32, STEM_CONV_FORWARD_BF16), LN_LINEAR_FORWARD_BF16)) {
            if (m.put(s.name(), s) != null) throw new ExceptionInInitializerError("duplicate kernel " + s.name());
        }
        BY_NAME = Collections.unmodifiableMap(m);
    }

    private KernelCatalog() {}

    public static List<KernelSpec> all() { return List.copyOf(BY_NAME.values()); }

    /** The spec of an extern "C" kernel name; throws listing the known names when there is none. */
    public static KernelSpec get(String name) {
        KernelSpec s = BY_NAME.get(name);
        if (s == null) throw new IllegalArgumentException("no kernel named '" + name + "'; known: " + BY_NAME.keySet());
        return s;
    }

    /** The stem kernel writing bf16 (else f32) compiled for channel width {@code width} ({@link StemKernels#width}). */
    public static KernelSpec stemConvForward(boolean bf16, int width) {
        int i = StemKernels.widths().indexOf(width);
        if (i < 0) throw new IllegalArgumentException("no stem kernel of width " + width + " (" + StemKernels.widths() + ")");
        return (bf16 ? STEM_CONV_FORWARD_BF16 : STEM_CONV_FORWARD_F32).get(i);
    }

    /** The LayerNorm + Linear kernel for K ({@link LnLinearKernels#ks}). */
    public static KernelSpec lnLinearForward(int k) {
        int i = LnLinearKernels.ks().indexOf(k);
        if (i < 0) throw new IllegalArgumentException("no ln_linear kernel for K = " + k + " (" + LnLinearKernels.ks() + ")");
        return LN_LINEAR_FORWARD_BF16.get(i);
    }

    private static List<KernelSpec> lnLinears() {
        List<KernelSpec> l = new ArrayList<>();
        for (int k : LnLinearKernels.ks()) {
            l.add(spec("ln_linear", "ln_linear_forward_bf16_k" + k, "y", PTR, "x", PTR, "gamma", PTR, "beta", PTR,
                    "w", PTR, "bias", PTR, "T", I32, "N", I32, "nb", I32, "eps", F32));
        }
        return List.copyOf(l);
    }

    private static KernelSpec wgradPartial(String type) {
        return spec("wgrad", "wgrad_partial_" + type, "partial", PTR, "dy", PTR, "x", PTR, "rows", I64, "M", I32,
                "N", I32, "rows_per_block", I32);
    }

    private static List<KernelSpec> stems(String type) {
        List<KernelSpec> l = new ArrayList<>();
        for (int w : StemKernels.widths()) {
            l.add(spec("stem", "stem_conv_forward_" + type + "_c" + w, "out", PTR, "x", PTR, "packed", PTR, "N", I32,
                    "C", I32, "H", I32, "W", I32, "Ho", I32, "Wo", I32, "Co", I32, "stride", I32, "pad", I32,
                    "norm", I32, "act", I32, "eps", F32));
        }
        return List.copyOf(l);
    }

    private static List<KernelSpec> concat(List<KernelSpec> a, List<KernelSpec> b) {
        List<KernelSpec> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    private static KernelSpec gatedDwConv(String type) {
        return spec("gated_dwconv", "gated_dwconv_forward_" + type, "out", PTR, "x", PTR, "weight", PTR, "bias", PTR,
                "N", I32, "H", I32, "W", I32, "hidden", I32, "conv_channels", I32, "kernel_size", I32, "act", I32,
                "strip_rows", I32);
    }

    private static KernelSpec gatedDwConvRings(String type, int columns) {
        return spec("gated_dwconv", "gated_dwconv_forward_rings_" + type + "_c" + columns, "out", PTR, "x", PTR,
                "weight", PTR, "bias", PTR, "N", I32, "H", I32, "W", I32, "hidden", I32, "conv_channels", I32,
                "act", I32, "strip_rows", I32);
    }

    private static KernelSpec gatedDwConvBackward(String type) {
        return spec("gated_dwconv", "gated_dwconv_backward_" + type, "dx", PTR, "partial", PTR, "x", PTR, "dy", PTR,
                "weight", PTR, "bias", PTR, "N", I32, "H", I32, "W", I32, "hidden", I32, "conv_channels", I32,
                "kernel_size", I32, "act", I32, "strip_rows", I32, "splits", I32);
    }

    // The input's three dimensions are named in its memory order (NHWC: H, W, C; NCHW: C, H, W).
    private static KernelSpec im2col(String name, String d1, String d2, String d3) {
        return spec("im2col", name, "col", PTR, "x", PTR, "N", I32, d1, I32, d2, I32, d3, I32, "Ho", I32, "Wo", I32,
                "kernel_size", I32, "stride", I32, "padding", I32, "col_stride", I32);
    }

    private static KernelSpec col2im(String name) {
        return spec("im2col", name, "dx", PTR, "dcol", PTR, "N", I32, "H", I32, "W", I32, "C", I32, "Ho", I32,
                "Wo", I32, "kernel_size", I32, "stride", I32, "padding", I32, "col_stride", I32, "accumulate", I32);
    }

    private static KernelSpec meanHwLayerNorm(String type) {
        return spec("head", "mean_hw_layernorm_" + type, "out", PTR, "pooled", PTR, "mean", PTR, "rstd", PTR, "x", PTR,
                "weight", PTR, "bias", PTR,
                "N", I32, "HW", I32, "C", I32, "eps", F32);
    }

    private static KernelSpec crossEntropy(String type) {
        return spec("cross_entropy", "cross_entropy_" + type, "loss_rows", PTR, "dlogits", PTR, "logits", PTR,
                "labels", PTR, "N", I32, "classes", I32, "smoothing", F32, "grad_scale", F32, "row_warps", I32);
    }

    private static KernelSpec meanHwBackward(String type) {
        return spec("head", "mean_hw_backward_" + type, "dx", PTR, "dy", PTR, "N", I32, "HW", I32, "C", I32);
    }

    private static KernelSpec layerScaleForward(String type) {
        return spec("layerscale", "layerscale_residual_forward_" + type, "out", PTR, "shortcut", PTR, "x", PTR,
                "gamma", PTR, "tokens", I32, "C", I32);
    }

    private static KernelSpec layerScaleBackward(String type) {
        return spec("layerscale", "layerscale_backward_" + type, "dx", PTR, "partial", PTR, "dy", PTR, "x", PTR,
                "gamma", PTR, "tokens", I32, "C", I32);
    }

    private static KernelSpec dropPathForward(String type) {
        return spec("droppath", "droppath_residual_forward_" + type, "out", PTR, "shortcut", PTR, "x", PTR, "gamma", PTR,
                "hyper", PTR, "seed", I64, "block", I32, "threshold", I64, "scale", F32, "per_sample", I32, "C", I32);
    }

    private static KernelSpec dropPathBackward(String type) {
        return spec("droppath", "droppath_backward_" + type, "dx", PTR, "dy", PTR, "hyper", PTR, "seed", I64,
                "block", I32, "threshold", I64, "scale", F32, "per_sample", I32);
    }

    private static KernelSpec spec(String module, String name, Object... nameKindPairs) {
        List<KernelSpec.Param> params = new ArrayList<>();
        for (int i = 0; i < nameKindPairs.length; i += 2) {
            params.add(new KernelSpec.Param((String) nameKindPairs[i], (ParamKind) nameKindPairs[i + 1]));
        }
        return new KernelSpec(module, name, params);
    }
}
