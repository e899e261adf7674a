package dev.mambaout.model.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PilBicubicTest {

    /** Pillow 12.3 output for the synthetic image of make_pil_reference.py (beside the reference file). */
    @Test
    void matchesPillowByteForByte() throws IOException {
        Rgb8Image src = image(41, 29, (x, y, c) -> (x * 37 + y * 91 + c * 53 + ((x * y) ^ (c * 29)) % 61) % 256);
        int cases = 0;
        try (var in = PilBicubicTest.class.getResourceAsStream("pil_bicubic_reference.txt")) {
            assertNotNull(in, "pil_bicubic_reference.txt missing from test resources");
            var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("#") || line.isBlank()) continue;
                String[] f = line.split(" ");
                int w = Integer.parseInt(f[0]), h = Integer.parseInt(f[1]);
                byte[] expected = HexFormat.of().parseHex(f[2]);
                Rgb8Image out = PilBicubic.resize(src, w, h);
                assertEquals(w, out.width());
                assertEquals(h, out.height());
                assertArrayEquals(expected, out.rgb(), "41x29 -> " + w + "x" + h);
                cases++;
            }
        }
        assertEquals(6, cases);
    }

    /**
     * Against the direct definition in double precision: out(x, y) = sum_ij wy(i) wx(j) in(i, j) / (sum wy * sum wx),
     * the kernel widened by the scale factor when shrinking. The separable 8-bit passes round twice, so they may differ
     * by up to about one level, never more; a smooth image keeps the first pass from clamping.
     */
    @ParameterizedTest
    @CsvSource({"50, 40, 21, 13", "50, 40, 97, 71", "33, 57, 33, 20", "33, 57, 12, 57", "64, 64, 224, 224", "300, 200, 224, 149"})
    void agreesWithTheNonSeparableDoubleFormula(int inW, int inH, int outW, int outH) {
        Rgb8Image src = image(inW, inH, (x, y, c) -> (int) Math.round(
                127.5 + 90 * Math.sin(x * 0.21 + y * 0.07) * Math.cos(y * 0.13 - x * 0.05)));
        Rgb8Image out = PilBicubic.resize(src, outW, outH);
        double maxErr = 0, sumErr = 0;
        for (int y = 0; y < outH; y++) {
            double[] wy = directWeights(inH, outH, y);
            for (int x = 0; x < outW; x++) {
                double[] wx = directWeights(inW, outW, x);
                double acc = 0, norm = 0;
                for (int i = 0; i < inH; i++) {
                    for (int j = 0; j < inW; j++) {
                        double w = wy[i] * wx[j];
                        acc += w * src.get(j, i, 0);
                        norm += w;
                    }
                }
                double err = Math.abs(out.get(x, y, 0) - acc / norm);
                maxErr = Math.max(maxErr, err);
                sumErr += err;
            }
        }
        assertTrue(maxErr <= 1.25, "max |separable 8-bit - direct double| = " + maxErr);
        assertTrue(sumErr / (outW * outH) < 0.5, "mean error " + sumErr / (outW * outH));
    }

    @Test
    void constantImageStaysConstant() {
        Rgb8Image src = image(37, 23, (x, y, c) -> 201);
        for (int[] wh : new int[][] {{5, 3}, {100, 80}, {37, 7}, {3, 23}}) {
            Rgb8Image out = PilBicubic.resize(src, wh[0], wh[1]);
            for (byte b : out.rgb()) assertEquals(201, b & 0xFF, "resize to " + wh[0] + "x" + wh[1]);
        }
    }

    @Test
    void sameSizeIsACopy() {
        Rgb8Image src = image(9, 7, (x, y, c) -> x * 20 + y + c);
        Rgb8Image out = PilBicubic.resize(src, 9, 7);
        assertArrayEquals(src.rgb(), out.rgb());
        assertNotSame(src.rgb(), out.rgb());
    }

    @Test
    void rejectsEmptyTarget() {
        Rgb8Image src = image(4, 4, (x, y, c) -> 0);
        var e = assertThrows(IllegalArgumentException.class, () -> PilBicubic.resize(src, 0, 4));
        assertTrue(e.getMessage().contains("0x4"), e.getMessage());
    }

    /** Every input pixel's weight for output index o: the Keys cubic (a = -0.5) at the pixel-centre distance. */
    private static double[] directWeights(int in, int out, int o) {
        double scale = (double) in / out, fs = Math.max(1, scale), center = (o + 0.5) * scale;
        double[] w = new double[in];
        for (int j = 0; j < in; j++) {
            double t = Math.abs((j + 0.5 - center) / fs);
            w[j] = t < 1 ? 1.5 * t * t * t - 2.5 * t * t + 1 : t < 2 ? -0.5 * t * t * t + 2.5 * t * t - 4 * t + 2 : 0;
        }
        return w;
    }

    /** Pixel value of channel c at (x, y). */
    interface Pattern {
        int at(int x, int y, int c);
    }

    static Rgb8Image image(int w, int h, Pattern f) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = (byte) f.at(x, y, c);
        return new Rgb8Image(w, h, px);
    }
}
