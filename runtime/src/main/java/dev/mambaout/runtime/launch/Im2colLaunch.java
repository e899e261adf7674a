package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * im2col launches for a k x k stride-s convolution run as a GEMM: col [N*Ho*Wo, colStride] (usually
 * {@link Im2colKernels#colStride}; any stride >= k*k*C works) of col's dtype, from an NHWC activation of the same
 * dtype or from the user's NCHW F32 batch.
 */
public final class Im2colLaunch {

    private Im2colLaunch() {}

    /** x [N,H,W,C] of col's dtype, or F32 into BF16 col (a bf16 program's f32 residual stream, cast in the gather). */
    public static Launch prepareNhwc(KernelModules m, Tensor col, Tensor x, int kernelSize, int stride, int padding) {
        String k = "im2col_nhwc";
        LaunchChecks.rank(k, "x [N,H,W,C]", x, 4);
        LaunchChecks.activation(k, "col", col);
        boolean widening = x.dtype() == DType.F32 && col.dtype() == DType.BF16;
        if (!widening) LaunchChecks.dtype(k, "x", x, col.dtype());
        Shape s = x.shape();
        KernelSpec spec = widening ? KernelCatalog.IM2COL_NHWC_F32_BF16
                : LaunchChecks.byDtype(col.dtype(), KernelCatalog.IM2COL_NHWC_F32, KernelCatalog.IM2COL_NHWC_BF16);
        return prepare(m, spec, k, col, x, s.dim(0), s.dim(1), s.dim(2), s.dim(3), kernelSize, stride, padding);
    }

    /** x [N,C,H,W] F32 (the model's input), col F32 or BF16: the layout change and the cast happen in the gather. */
    public static Launch prepareNchw(KernelModules m, Tensor col, Tensor x, int kernelSize, int stride, int padding) {
        String k = "im2col_nchw";
        LaunchChecks.rank(k, "x [N,C,H,W]", x, 4);
        LaunchChecks.activation(k, "col", col);
        LaunchChecks.dtype(k, "x", x, DType.F32);
        Shape s = x.shape();
        return prepare(m, LaunchChecks.byDtype(col.dtype(), KernelCatalog.IM2COL_NCHW_F32, KernelCatalog.IM2COL_NCHW_BF16),
                k, col, x, s.dim(0), s.dim(2), s.dim(3), s.dim(1), kernelSize, stride, padding);
    }

    private static Launch prepare(KernelModules m, KernelSpec spec, String k, Tensor col, Tensor x, int n, int h, int w,
                                  int c, int kernelSize, int stride, int padding) {
        int ho, wo;
        try {
            ho = Im2colKernels.outSize(h, kernelSize, stride, padding);
            wo = Im2colKernels.outSize(w, kernelSize, stride, padding);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(k + ": x " + x.shape() + " with kernel " + kernelSize + ", stride "
                    + stride + ", padding " + padding + ": " + e.getMessage(), e);
        }
        long rows = (long) n * ho * wo;
        long kkc = (long) kernelSize * kernelSize * c;
        if (col.shape().rank() != 2 || col.shape().dim(0) != rows || col.shape().dim(1) < kkc) {
            throw new IllegalArgumentException(k + ": col must be [" + rows + ", >= " + kkc + "] (N*Ho*Wo, k*k*C; "
                    + "colStride " + Im2colKernels.colStride(kernelSize, c) + ") for x " + x.shape() + ", was "
                    + col.shape());
        }
        int colStride = col.shape().dim(1);
        // Spec order: col, x, N, then the input's dims in memory order, Ho, Wo, k, s, p, col_stride.
        boolean nchw = spec == KernelCatalog.IM2COL_NCHW_F32 || spec == KernelCatalog.IM2COL_NCHW_BF16;
        int d1 = nchw ? c : h, d2 = nchw ? h : w, d3 = nchw ? w : c;
        return m.prepare(spec, Im2colKernels.geometry((int) rows, colStride, col.dtype().bytes(), m.smCount()), col.arg(),
                x.arg(), i32(n), i32(d1), i32(d2), i32(d3), i32(ho), i32(wo), i32(kernelSize), i32(stride), i32(padding),
                i32(colStride));
    }
}
