package dev.mambaout.natives.nvrtc;

import java.nio.charset.StandardCharsets;

/**
 * PTX made by {@link Nvrtc#compile}: {@code image} is NUL-terminated, ready for
 * {@link dev.mambaout.natives.CudaDriver#moduleLoadData(byte[])}; {@code log} holds the compiler's warnings (often
 * empty).
 */
public record Ptx(String programName, byte[] image, String log) {

    /** The PTX text without the trailing NUL. */
    public String text() {
        int n = image.length;
        while (n > 0 && image[n - 1] == 0) n--;
        return new String(image, 0, n, StandardCharsets.US_ASCII);
    }
}
