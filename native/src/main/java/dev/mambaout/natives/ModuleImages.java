package dev.mambaout.natives;

import java.util.Arrays;

/**
 * What {@code cuModuleLoadData} is handed. It takes a bare pointer and finds the end of a cubin or fatbin from its
 * header, but of PTX only from a terminating NUL: PTX text without one would be read past its end. So text images
 * get a NUL appended when missing; binary ones pass through untouched.
 */
public final class ModuleImages {

    private ModuleImages() {}

    /** The image, NUL-terminated if it is text. */
    public static byte[] forLoad(byte[] image) {
        if (image == null || image.length == 0) {
            throw new IllegalArgumentException("module image is empty: expected a fatbin, cubin or PTX text");
        }
        if (isElf(image) || isFatbin(image) || image[image.length - 1] == 0) return image;
        return Arrays.copyOf(image, image.length + 1);
    }

    /** "cubin (ELF)", "fatbin" or "PTX", with the size, for error messages. */
    public static String describe(byte[] image) {
        String kind = isElf(image) ? "cubin (ELF)" : isFatbin(image) ? "fatbin" : "PTX";
        return kind + ", " + image.length + " bytes";
    }

    private static boolean isElf(byte[] b) {
        return b.length >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
    }

    /** nvcc -fatbin files start with 0xBA55ED50, little-endian; the in-memory wrapper with 0x466243B1. */
    private static boolean isFatbin(byte[] b) {
        if (b.length < 4) return false;
        int magic = (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
        return magic == 0xBA55ED50 || magic == 0x466243B1;
    }
}
