package dev.mambaout.model.image;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * Reads PNG and JPEG files into {@link Rgb8Image}s the way timm's loader does ({@code PIL.Image.open(f).convert("RGB")}):
 * grey is repeated into three channels and alpha is dropped (not blended).
 *
 * <p>For grey and RGB rasters the stored samples are taken as they are (16-bit ones scaled to 8 bits). {@link BufferedImage#getRGB} would
 * instead treat grey as linear and convert it to sRGB, brightening every mid-tone, which PIL never does. Other layouts
 * (palettes, unusual colour spaces) go through {@code getRGB}, i.e. Java's conversion to 8-bit sRGB. CMYK and YCCK
 * JPEGs are read by the TwelveMonkeys plugin, which converts them to RGB through their colour profile.
 *
 * <p>Like Pillow, this refuses what it cannot read faithfully rather than guessing: an image of more than
 * {@link #MAX_PIXELS} pixels (checked from the header, before any decoding), a damaged file (the decoder's warnings,
 * such as a truncated or corrupt JPEG scan, become errors), and a PNG whose chunks fail their CRC or end before IEND.
 *
 * <p>JPEG decoders differ in their inverse DCT and chroma upsampling, so a JPEG read here may differ from PIL's
 * (libjpeg-turbo) by a level or two per channel; PNG pixels are exact.
 */
public final class ImageFiles {

    /**
     * Largest image accepted, in pixels: twice Pillow's {@code MAX_IMAGE_PIXELS} (89,478,485), where Pillow raises
     * {@code DecompressionBombError}. A few kilobytes of PNG can declare billions of pixels; decoding 179M of them
     * already takes about a gigabyte.
     */
    public static final long MAX_PIXELS = 2L * 89_478_485;

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    static {
        // ImageIO's default disk cache writes temp files for every stream; nothing here needs it.
        ImageIO.setUseCache(false);
    }

    private ImageFiles() {}

    public static Rgb8Image read(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IOException("image " + file + " is a directory, not a PNG or JPEG file");
        if (!Files.exists(file)) throw new IOException("image file " + file + " does not exist");
        // A FIFO or device would block the read until something writes to it.
        if (!Files.isRegularFile(file)) throw new IOException("image " + file + " is not a regular file (a pipe or device)");
        if (isPng(file)) checkPngChunks(file);
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? Collections.emptyIterator() : ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IOException("cannot read " + file + ": not a PNG or JPEG image (no ImageIO reader recognised its header)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                return toRgb(decode(file, reader));
            } finally {
                reader.dispose();
            }
        }
    }

    private static BufferedImage decode(Path file, ImageReader reader) throws IOException {
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> {
            if (!colourNotice(warning)) warnings.add(warning);
        });
        long w, h;
        try {
            w = reader.getWidth(0);
            h = reader.getHeight(0);
        } catch (IOException | RuntimeException e) {
            throw undecodable(file, e);
        }
        if (w * h > MAX_PIXELS) {
            throw new IOException("image " + file + " is " + w + "x" + h + " = " + w * h + " pixels, more than the limit of "
                    + MAX_PIXELS + " (Pillow's decompression-bomb limit); scale it down first");
        }
        BufferedImage img;
        try {
            img = reader.read(0);
        } catch (OutOfMemoryError e) {
            throw new IOException("image " + file + " (" + w + "x" + h + ") does not fit in the "
                    + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB heap once decoded; give Java more heap "
                    + "(JAVA_OPTS=-Xmx...) or scale the image down", e);
        } catch (IOException | RuntimeException e) {
            throw undecodable(file, e);
        }
        if (!warnings.isEmpty()) {
            throw new IOException("image " + file + " is damaged (" + String.join("; ", warnings)
                    + "); expected a complete PNG or JPEG file");
        }
        return img;
    }

    /**
     * The JPEG plugin's notices about colour management (a CMYK file without an ICC profile is converted with a
     * generic one, as Pillow converts every CMYK file) say nothing about damage; every other warning does.
     */
    private static boolean colourNotice(String warning) {
        return warning.contains("ICC") || warning.toLowerCase(Locale.ROOT).contains("color profile");
    }

    /** Truncated or corrupt data surfaces as IIOException and, for some malformed headers, as runtime exceptions. */
    private static IOException undecodable(Path file, Exception e) {
        return new IOException("cannot decode image " + file + " (" + describe(e) + "); expected a PNG or JPEG file", e);
    }

    private static boolean isPng(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(PNG_SIGNATURE.length), PNG_SIGNATURE);
        }
    }

    /**
     * Walks a PNG's chunks checking each CRC, as Pillow does: the JDK's reader ignores CRCs, so a damaged chunk would
     * otherwise decode into wrong pixels without a word. The file must reach its IEND chunk.
     */
    private static void checkPngChunks(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            in.skipNBytes(PNG_SIGNATURE.length);
            byte[] buf = new byte[1 << 16];
            for (long offset = PNG_SIGNATURE.length; ; ) {
                long length;
                int type;
                try {
                    length = Integer.toUnsignedLong(in.readInt());
                    type = in.readInt();
                } catch (EOFException e) {
                    throw new IOException("image " + file + " is damaged (PNG file ends at byte " + offset
                            + " without its IEND chunk: truncated); expected a complete PNG file", e);
                }
                String name = new String(new byte[]{(byte) (type >>> 24), (byte) (type >>> 16), (byte) (type >>> 8), (byte) type},
                        StandardCharsets.ISO_8859_1);
                if (length > Integer.MAX_VALUE) {
                    throw new IOException("image " + file + " is damaged (PNG chunk '" + name + "' at byte " + offset
                            + " declares " + length + " bytes, beyond the format's 2^31 - 1)");
                }
                CRC32 crc = new CRC32();
                crc.update(type >>> 24);
                crc.update(type >>> 16);
                crc.update(type >>> 8);
                crc.update(type);
                long stored;
                try {
                    for (long left = length; left > 0; ) {
                        int k = (int) Math.min(left, buf.length);
                        in.readFully(buf, 0, k);
                        crc.update(buf, 0, k);
                        left -= k;
                    }
                    stored = Integer.toUnsignedLong(in.readInt());
                } catch (EOFException e) {
                    throw new IOException("image " + file + " is damaged (PNG chunk '" + name + "' at byte " + offset
                            + " runs past the end of the file: truncated); expected a complete PNG file", e);
                }
                if (stored != crc.getValue()) {
                    throw new IOException("image " + file + " is damaged (PNG chunk '" + name + "' at byte " + offset
                            + " fails its CRC check); expected an intact PNG file");
                }
                if (name.equals("IEND")) return;
                offset += 12 + length;
            }
        }
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
