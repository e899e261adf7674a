package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.LaunchGeometry;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * col2im launches, the input gradient of a k x k stride-s convolution run as a GEMM (graph's Conv2dBackwardInput):
 * dcol [N*Ho*Wo, colStride] = dy x Wpacked (the column layout of {@link Im2colLaunch}; columns past k*k*C are not
 * read) into dx [N,H,W,C], each dx element the sum of the columns that read it in the forward. dcol and dx F32, both
 * BF16, or BF16 dcol into F32 dx (the gradient of a bf16 program's f32 residual sum at a downsampling conv).
 *
 * <p>{@code accumulate = false} overwrites dx (what every MambaOut conv needs: its input has no other consumer, so
 * the conv's dx starts that tensor's gradient); {@code true} adds to it (dx += the sum, in f32, one rounding), for an
 * input whose gradient already holds another consumer's contribution. dx must not overlap dcol.
 */
public final class Col2imLaunch {

    private Col2imLaunch() {}

    public static Launch prepareNhwc(KernelModules m, Tensor dx, Tensor dcol, int kernelSize, int stride, int padding,
                                     boolean accumulate) {
        String k = "col2im_nhwc";
        if (m == null || dx == null || dcol == null) {
            throw new IllegalArgumentException(k + ": modules, dx and dcol are required");
        }
        LaunchChecks.rank(k, "dx [N,H,W,C]", dx, 4);
        LaunchChecks.activation(k, "dcol", dcol);
        LaunchChecks.activation(k, "dx", dx);
        KernelSpec spec;
        if (dcol.dtype() == dx.dtype()) {
            spec = LaunchChecks.byDtype(dx.dtype(), KernelCatalog.COL2IM_NHWC_F32, KernelCatalog.COL2IM_NHWC_BF16);
        } else if (dcol.dtype() == DType.BF16) {
            spec = KernelCatalog.COL2IM_NHWC_BF16_F32;
        } else {
            throw new IllegalArgumentException(k + ": F32 dcol into BF16 dx is not a variant (dcol F32 -> dx F32, "
                    + "dcol BF16 -> dx BF16 or F32)");
        }
        Shape s = dx.shape();
        int n = s.dim(0), h = s.dim(1), w = s.dim(2), c = s.dim(3);
        int ho, wo;
        try {
            ho = Im2colKernels.outSize(h, kernelSize, stride, padding);
            wo = Im2colKernels.outSize(w, kernelSize, stride, padding);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(k + ": dx " + s + " with kernel " + kernelSize + ", stride " + stride
                    + ", padding " + padding + ": " + e.getMessage(), e);
        }
        long rows = (long) n * ho * wo;
        long kkc = (long) kernelSize * kernelSize * c;
        if (dcol.shape().rank() != 2 || dcol.shape().dim(0) != rows || dcol.shape().dim(1) < kkc) {
            throw new IllegalArgumentException(k + ": dcol must be [" + rows + ", >= " + kkc + "] (N*Ho*Wo, k*k*C; "
                    + "colStride " + Im2colKernels.colStride(kernelSize, c) + ") for dx " + s + ", was " + dcol.shape());
        }
        if (dx.overlaps(dcol)) {
            throw new IllegalArgumentException(k + ": dx overlaps dcol");
        }
        int colStride = dcol.shape().dim(1);
        LaunchGeometry geometry = geometry(k, (long) n * h * w, c, rows, colStride, dcol.dtype().bytes(), m.smCount());
        // Spec order: dx, dcol, N, H, W, C, Ho, Wo, k, s, p, col_stride, accumulate.
        return m.prepare(spec, geometry, dx.arg(), dcol.arg(), i32(n), i32(h), i32(w), i32(c), i32(ho), i32(wo),
                i32(kernelSize), i32(stride), i32(padding), i32(colStride), i32(accumulate ? 1 : 0));
    }

    private static LaunchGeometry geometry(String k, long pixels, int c, long rows, int colStride, int bytes,
                                           int smCount) {
        try {
            return Im2colKernels.col2im(pixels, c, rows, colStride, bytes, smCount);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(k + ": " + e.getMessage(), e);
        }
    }
}
