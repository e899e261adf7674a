package dev.mambaout.model.image;

import javax.imageio.ImageIO;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads PNG and JPEG files into {@link Rgb8Image}s the way timm's loader does ({@code PIL.Image.open(f).convert("RGB")}):
 * grey is repeated into three channels and alpha is dropped (not blended).
 *
 * <p>For grey and RGB rasters the stored samples are taken as they are (16-bit ones scaled to 8 bits). {@link BufferedImage#getRGB} would
 * instead treat grey as linear and convert it to sRGB, brightening every mid-tone, which PIL never does. Other layouts
 * (palettes, unusual colour spaces) go through {@code getRGB}, i.e. Java's conversion to 8-bit sRGB.
 *
 * <p>JPEG decoders differ in their inverse DCT and chroma upsampling, so a JPEG read here may differ from PIL's
 * (libjpeg-turbo) by a level or two per channel; PNG pixels are exact.
 */
public final class ImageFiles {

    static {
        // ImageIO's default disk cache writes temp files for every stream; nothing here needs it.
        ImageIO.setUseCache(false);
    }

    private ImageFiles() {}

    public static Rgb8Image read(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IOException("image " + file + " is a directory, not a PNG or JPEG file");
        BufferedImage img;
        try (InputStream in = Files.newInputStream(file)) {
            img = ImageIO.read(in);
        } catch (NoSuchFileException e) {
            throw new IOException("image file " + file + " does not exist", e);
        } catch (IOException | RuntimeException e) {
            // ImageIO signals truncated or corrupt data with IIOException and, for some malformed headers, with
            // runtime exceptions from the decoders; either way the file is unusable.
            throw new IOException("cannot decode image " + file + " (" + describe(e) + "); expected a PNG or JPEG file", e);
        }
        if (img == null) {
            throw new IOException("cannot read " + file + ": not a PNG or JPEG image (no ImageIO reader recognised its header)");
        }
        return toRgb(img);
    }

    /** Converts a decoded image to interleaved 8-bit RGB, dropping alpha and repeating grey. */
    public static Rgb8Image toRgb(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        Raster r = img.getRaster();
        int bands = r.getNumBands();
        int type = r.getTransferType();
        boolean raw = img.getColorModel() instanceof ComponentColorModel cm
                && (type == DataBuffer.TYPE_BYTE || type == DataBuffer.TYPE_USHORT)
                && (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && bands <= 2
                    || cm.getColorSpace().isCS_sRGB() && bands >= 3);
        if (raw) {
            // Bands follow the colour model's component order (R, G, B[, A] or Y[, A]) whatever the byte layout.
            boolean grey = bands <= 2;
            boolean wide = type == DataBuffer.TYPE_USHORT;
            int[] row = new int[w * bands];
            for (int y = 0; y < h; y++) {
                r.getPixels(0, y, w, 1, row);
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3, s = x * bands;
                    out[o] = to8(row[s], wide);
                    out[o + 1] = to8(row[grey ? s : s + 1], wide);
                    out[o + 2] = to8(row[grey ? s : s + 2], wide);
                }
            }
        } else {
            int[] argb = new int[w];
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, argb, 0, w);
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3, p = argb[x];
                    out[o] = (byte) (p >>> 16);
                    out[o + 1] = (byte) (p >>> 8);
                    out[o + 2] = (byte) p;
                }
            }
        }
        return new Rgb8Image(w, h, out);
    }

    /** 16-bit samples are scaled to 8 bits with rounding (65535 -> 255); PIL would clip them instead. */
    private static byte to8(int sample, boolean wide) {
        return (byte) (wide ? (sample * 255 + 32767) / 65535 : sample);
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
