package dev.mambaout.model.image;

/**
 * An 8-bit RGB image, pixels interleaved row by row ({@code (y * width + x) * 3 + channel}), the layout PIL keeps for
 * mode "RGB" and the one every step of the evaluation transform reads.
 */
public record Rgb8Image(int width, int height, byte[] rgb) {

    public Rgb8Image {
        if (width < 1 || height < 1) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        if (rgb.length != Math.multiplyExact(Math.multiplyExact(width, height), 3)) {
            throw new IllegalArgumentException("a " + width + "x" + height + " RGB image needs " + 3L * width * height
                    + " bytes, got " + rgb.length);
        }
    }

    /** Channel value 0..255 of pixel (x, y). */
    public int get(int x, int y, int channel) {
        return rgb[(y * width + x) * 3 + channel] & 0xFF;
    }
}
