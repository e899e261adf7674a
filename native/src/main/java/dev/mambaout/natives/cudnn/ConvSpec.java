package dev.mambaout.natives.cudnn;

/**
 * A 2-D cross-correlation (what deep-learning frameworks call convolution) as cuDNN plans it: input [n, c, h, w] in
 * {@code format}, filter [k, c/groups, r, s], zero padding, strides, dilations and groups (groups = c = k is
 * depthwise). Data, filter and output share {@code dataType}; arithmetic is float.
 */
public record ConvSpec(int n, int c, int h, int w, int k, int r, int s,
                       int padH, int padW, int strideH, int strideW, int dilationH, int dilationW, int groups,
                       TensorFormat format, CudnnDataType dataType, CudnnMathType mathType) {

    public ConvSpec {
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || k <= 0 || r <= 0 || s <= 0) {
            throw new IllegalArgumentException("conv sizes must be positive: n=" + n + " c=" + c + " h=" + h + " w=" + w
                    + " k=" + k + " r=" + r + " s=" + s);
        }
        if (padH < 0 || padW < 0 || strideH <= 0 || strideW <= 0 || dilationH <= 0 || dilationW <= 0) {
            throw new IllegalArgumentException("bad conv geometry: pad " + padH + "x" + padW + ", stride " + strideH
                    + "x" + strideW + ", dilation " + dilationH + "x" + dilationW);
        }
        if (groups <= 0 || c % groups != 0 || k % groups != 0) {
            throw new IllegalArgumentException("groups=" + groups + " must divide input channels " + c
                    + " and output channels " + k);
        }
        if (format == null || dataType == null || mathType == null) {
            throw new IllegalArgumentException("format, dataType and mathType are required");
        }
        if (outH(h, r, padH, strideH, dilationH) <= 0 || outH(w, s, padW, strideW, dilationW) <= 0) {
            throw new IllegalArgumentException("the " + r + "x" + s + " filter does not fit the padded " + h + "x" + w
                    + " input");
        }
    }

    /** A depthwise k x k convolution with "same" padding and stride 1, like MambaOut's token mixer. */
    public static ConvSpec depthwise(int n, int channels, int h, int w, int kernel, TensorFormat format,
                                     CudnnDataType dataType, CudnnMathType mathType) {
        return new ConvSpec(n, channels, h, w, channels, kernel, kernel, kernel / 2, kernel / 2, 1, 1, 1, 1,
                channels, format, dataType, mathType);
    }

    public int outH() { return outH(h, r, padH, strideH, dilationH); }

    public int outW() { return outH(w, s, padW, strideW, dilationW); }

    private static int outH(int in, int kernel, int pad, int stride, int dilation) {
        return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
    }
}
