package dev.mambaout.model.image;

import dev.mambaout.model.MambaOutConfig;

import java.util.Arrays;

/**
 * timm's evaluation transform ({@code transforms_imagenet_eval}) for a square model input: resize the shorter side to
 * {@code floor(imageSize / cropPct)} with Pillow's bicubic filter, crop the centre {@code imageSize x imageSize},
 * scale to [0, 1] and normalise each channel with the ImageNet mean and std. Output is CHW float32, the layout of one
 * image of the model's NCHW input.
 */
public record EvalTransform(int imageSize, double cropPct, float[] mean, float[] std) {

    /** timm's IMAGENET_DEFAULT_MEAN / _STD, which every MambaOut checkpoint was trained with. */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    public EvalTransform {
        if (imageSize < 1) throw new IllegalArgumentException("imageSize must be >= 1, got " + imageSize);
        if (!(cropPct > 0 && cropPct <= 1)) throw new IllegalArgumentException("cropPct must lie in (0, 1], got " + cropPct);
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 channels, got " + mean.length + " and " + std.length);
        }
        for (float s : std) if (!(s > 0)) throw new IllegalArgumentException("std must be positive, got " + s);
        mean = mean.clone();
        std = std.clone();
    }

    public static EvalTransform forConfig(MambaOutConfig c) {
        return new EvalTransform(c.imageSize(), c.cropPct(), IMAGENET_MEAN, IMAGENET_STD);
    }

    @Override public float[] mean() { return mean.clone(); }

    @Override public float[] std() { return std.clone(); }

    // Records compare array components by identity; two transforms with equal numbers are the same transform.
    @Override
    public boolean equals(Object o) {
        return o instanceof EvalTransform t && imageSize == t.imageSize && Double.compare(cropPct, t.cropPct) == 0
                && Arrays.equals(mean, t.mean) && Arrays.equals(std, t.std);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Integer.hashCode(imageSize) + Double.hashCode(cropPct)) + 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "EvalTransform[imageSize=" + imageSize + ", cropPct=" + cropPct + ", mean=" + Arrays.toString(mean)
                + ", std=" + Arrays.toString(std) + "]";
    }

    /** {@code math.floor(img_size / crop_pct)}, computed in double as Python does. */
    public int scaleSize() {
        return (int) Math.floor(imageSize / cropPct);
    }

    /**
     * torchvision's size for {@code Resize(int)}: the shorter side becomes {@link #scaleSize()}, the longer
     * {@code int(size * long / short)} (truncated). Returns {width, height}.
     */
    public int[] resizedSize(int width, int height) {
        int size = scaleSize();
        if (width <= height) return new int[] {size, (int) ((double) ((long) size * height) / width)};
        return new int[] {(int) ((double) ((long) size * width) / height), size};
    }

    /** torchvision's {@code center_crop} offset: {@code int(round((extent - crop) / 2.0))}, Python's round being half-even. */
    public static int cropOffset(int extent, int crop) {
        if (crop > extent) throw new IllegalArgumentException("crop " + crop + " is larger than the image extent " + extent);
        return (int) Math.rint((extent - crop) / 2.0);
    }

    /** Transforms one image into a new CHW array of {@code 3 * imageSize * imageSize} floats. */
    public float[] apply(Rgb8Image img) {
        float[] out = new float[3 * imageSize * imageSize];
        apply(img, out, 0);
        return out;
    }

    /** Transforms one image into {@code dst[offset ..]} (CHW), so a batch can be filled image by image. */
    public void apply(Rgb8Image img, float[] dst, int offset) {
        int plane = imageSize * imageSize;
        if (offset < 0 || dst.length - offset < 3 * plane) {
            throw new IllegalArgumentException("destination holds " + (dst.length - offset) + " floats from offset " + offset
                    + ", one image needs " + 3 * plane);
        }
        int[] wh = resizedSize(img.width(), img.height());
        Rgb8Image r = PilBicubic.resize(img, wh[0], wh[1]);
        int left = cropOffset(r.width(), imageSize), top = cropOffset(r.height(), imageSize);
        for (int c = 0; c < 3; c++) {
            float m = mean[c], s = std[c];
            int base = offset + c * plane;
            for (int y = 0; y < imageSize; y++) {
                for (int x = 0; x < imageSize; x++) {
                    // ToTensor divides by 255 in float32, Normalize subtracts then divides, both in float32.
                    float v = r.get(left + x, top + y, c) / 255f;
                    dst[base + y * imageSize + x] = (v - m) / s;
                }
            }
        }
    }
}
