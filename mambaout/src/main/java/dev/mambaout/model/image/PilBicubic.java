package dev.mambaout.model.image;

/**
 * Bicubic resizing exactly as Pillow's {@code Image.resize(size, Image.BICUBIC)} computes it for 8-bit images
 * (libImaging/Resample.c), which is what torchvision's {@code Resize} calls for PIL images and so what timm's
 * evaluation transform sees.
 *
 * <p>Separable: a horizontal pass, then a vertical one, each skipped when its extent is unchanged. The kernel is the
 * cubic convolution with a = -0.5 and support 2, widened by the scale factor when shrinking (so downscaling is
 * antialiased). Weights are normalised per output pixel, turned into 22-bit fixed point, and every pass rounds its
 * sums half up and clamps them to 0..255, storing 8-bit values between the passes as Pillow does.
 */
public final class PilBicubic {

    static final double SUPPORT = 2.0;
    /** Pillow's PRECISION_BITS: 32 - 8 - 2, leaving room for 8-bit samples times weights above one. */
    static final int PRECISION_BITS = 22;

    private PilBicubic() {}

    /** Pillow's {@code bicubic_filter}. */
    static double filter(double x) {
        final double a = -0.5;
        if (x < 0) x = -x;
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    /** The taps for one axis: output pixel i reads {@code count[i]} inputs from {@code first[i]} with weights {@code w}. */
    record Taps(int ksize, int[] first, int[] count, int[] weights) {}

    /** Pillow's {@code precompute_coeffs} followed by {@code normalize_coeffs_8bpc}. */
    static Taps taps(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = SUPPORT * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize], weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        double inv = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            // Pillow rounds the window ends by truncating center +- support + 0.5 (both are >= 0 after the clamp).
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double sum = 0;
            for (int x = 0; x < xmax; x++) {
                k[x] = filter((x + xmin - center + 0.5) * inv);
                sum += k[x];
            }
            for (int x = 0; x < xmax; x++) {
                double v = sum != 0 ? k[x] / sum : k[x];
                // C's (int) cast truncates toward zero, as Java's does: this is round-half-away-from-zero.
                weights[xx * ksize + x] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = xmax;
        }
        return new Taps(ksize, first, count, weights);
    }

    public static Rgb8Image resize(Rgb8Image src, int outWidth, int outHeight) {
        if (outWidth < 1 || outHeight < 1) {
            throw new IllegalArgumentException("resize target must be positive, got " + outWidth + "x" + outHeight);
        }
        Rgb8Image img = src;
        if (outWidth != img.width()) img = horizontal(img, outWidth);
        if (outHeight != img.height()) img = vertical(img, outHeight);
        return img == src ? new Rgb8Image(src.width(), src.height(), src.rgb().clone()) : img;
    }

    private static Rgb8Image horizontal(Rgb8Image in, int outW) {
        Taps t = taps(in.width(), outW);
        int h = in.height(), inW = in.width();
        byte[] src = in.rgb(), dst = new byte[outW * h * 3];
        for (int y = 0; y < h; y++) {
            int row = y * inW * 3;
            for (int xx = 0; xx < outW; xx++) {
                int x0 = t.first[xx], n = t.count[xx], kw = xx * t.ksize;
                int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < n; x++) {
                    int w = t.weights[kw + x], p = row + (x0 + x) * 3;
                    s0 += (src[p] & 0xFF) * w;
                    s1 += (src[p + 1] & 0xFF) * w;
                    s2 += (src[p + 2] & 0xFF) * w;
                }
                int o = (y * outW + xx) * 3;
                dst[o] = clip8(s0);
                dst[o + 1] = clip8(s1);
                dst[o + 2] = clip8(s2);
            }
        }
        return new Rgb8Image(outW, h, dst);
    }

    private static Rgb8Image vertical(Rgb8Image in, int outH) {
        Taps t = taps(in.height(), outH);
        int w = in.width(), stride = w * 3;
        byte[] src = in.rgb(), dst = new byte[outH * stride];
        for (int yy = 0; yy < outH; yy++) {
            int y0 = t.first[yy], n = t.count[yy], kw = yy * t.ksize;
            for (int c = 0; c < stride; c++) {
                int s = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < n; y++) s += (src[(y0 + y) * stride + c] & 0xFF) * t.weights[kw + y];
                dst[yy * stride + c] = clip8(s);
            }
        }
        return new Rgb8Image(w, outH, dst);
    }

    /** Pillow's {@code clip8}: the rounding offset is already in the sum, so shifting floors to the nearest level. */
    private static byte clip8(int v) {
        if (v <= 0) return 0;
        if (v >= (255 << PRECISION_BITS)) return (byte) 255;
        return (byte) (v >> PRECISION_BITS);
    }
}
