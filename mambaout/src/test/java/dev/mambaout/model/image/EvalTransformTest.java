package dev.mambaout.model.image;

import dev.mambaout.model.MambaOutConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvalTransformTest {

    private static EvalTransform t(int size, double crop) {
        return new EvalTransform(size, crop, EvalTransform.IMAGENET_MEAN, EvalTransform.IMAGENET_STD);
    }

    @ParameterizedTest
    @CsvSource({"224, 1.0, 224", "224, 0.95, 235", "288, 0.95, 303", "224, 0.875, 256", "256, 0.9, 284"})
    void scaleSizeIsFloorOfSizeOverCropPct(int size, double crop, int expected) {
        assertEquals(expected, t(size, crop).scaleSize());
    }

    @Test
    void variantsUseTheirCropPct() {
        assertEquals(224, EvalTransform.forConfig(MambaOutConfig.variant("femto")).scaleSize());
        assertEquals(235, EvalTransform.forConfig(MambaOutConfig.variant("base_wide_rw")).scaleSize());
    }

    /** torchvision: the shorter side becomes the scale size, the longer int(size * long / short). */
    @ParameterizedTest
    @CsvSource({
            "224, 1.0, 640, 480, 298, 224", // 224 * 640 / 480 = 298.67
            "224, 1.0, 480, 640, 224, 298",
            "224, 0.95, 300, 500, 235, 391", // 235 * 500 / 300 = 391.67
            "224, 1.0, 224, 224, 224, 224",
            "224, 1.0, 100, 100, 224, 224",
            "224, 1.0, 1000, 3, 74666, 224"})
    void resizeKeepsAspectOnTheShorterSide(int size, double crop, int w, int h, int ew, int eh) {
        assertArrayEquals(new int[] {ew, eh}, t(size, crop).resizedSize(w, h));
    }

    /** torchvision rounds (extent - crop) / 2 with Python's round, which goes to even on .5. */
    @ParameterizedTest
    @CsvSource({"224, 224, 0", "257, 224, 16", "259, 224, 18", "298, 224, 37", "235, 224, 6", "225, 224, 0", "227, 224, 2"})
    void cropOffsetsRoundHalfToEven(int extent, int crop, int expected) {
        assertEquals(expected, EvalTransform.cropOffset(extent, crop));
    }

    @Test
    void cropLargerThanImageIsRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> EvalTransform.cropOffset(100, 224));
        assertTrue(e.getMessage().contains("224") && e.getMessage().contains("100"), e.getMessage());
    }

    /**
     * An image whose shorter side already equals the scale size is not resampled, so crop, layout and normalisation can
     * be checked pixel by pixel: 300x224 keeps its size, the crop starts at x = round(76 / 2) = 38, and every value is
     * (v / 255 - mean) / std of the pixel it came from, planes in R, G, B order.
     */
    @Test
    void cropsCentreAndNormalisesIntoChw() {
        int w = 300, h = 224;
        Rgb8Image img = PilBicubicTest.image(w, h, (x, y, c) -> c == 0 ? x % 256 : c == 1 ? y : (x + 2 * y) % 256);
        float[] out = t(224, 1.0).apply(img);
        assertEquals(3 * 224 * 224, out.length);
        double[] mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225};
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 224; y++) {
                for (int x = 0; x < 224; x++) {
                    int sx = x + 38;
                    int v = c == 0 ? sx % 256 : c == 1 ? y : (sx + 2 * y) % 256;
                    double expected = (v / 255.0 - mean[c]) / std[c];
                    assertEquals(expected, out[(c * 224 + y) * 224 + x], 1e-5, "c=" + c + " y=" + y + " x=" + x);
                }
            }
        }
    }

    @Test
    void extremesNormaliseToKnownValues() {
        Rgb8Image black = PilBicubicTest.image(224, 224, (x, y, c) -> 0);
        Rgb8Image white = PilBicubicTest.image(224, 224, (x, y, c) -> 255);
        float[] b = t(224, 1.0).apply(black), wv = t(224, 1.0).apply(white);
        int plane = 224 * 224;
        assertEquals(-0.485 / 0.229, b[0], 1e-6);
        assertEquals(-0.456 / 0.224, b[plane], 1e-6);
        assertEquals(-0.406 / 0.225, b[2 * plane + 77], 1e-6);
        assertEquals((1 - 0.485) / 0.229, wv[5], 1e-6);
        assertEquals((1 - 0.406) / 0.225, wv[3 * plane - 1], 1e-6);
    }

    @Test
    void resizesLargeImagesThenCrops() {
        // 640x480 -> 298x224 with Pillow's filter, then the centre 224 columns from x = 37.
        Rgb8Image img = PilBicubicTest.image(640, 480, (x, y, c) -> (x / 4 + y / 3 + 40 * c) % 256);
        EvalTransform tr = t(224, 1.0);
        float[] out = tr.apply(img);
        Rgb8Image resized = PilBicubic.resize(img, 298, 224);
        for (int y = 0; y < 224; y += 17) {
            for (int x = 0; x < 224; x += 13) {
                double expected = (resized.get(x + 37, y, 1) / 255.0 - 0.456) / 0.224;
                assertEquals(expected, out[(224 + y) * 224 + x], 1e-5);
            }
        }
    }

    @Test
    void fillsABatchAtAnOffset() {
        Rgb8Image img = PilBicubicTest.image(224, 224, (x, y, c) -> 255);
        EvalTransform tr = t(224, 1.0);
        float[] batch = new float[2 * 3 * 224 * 224];
        tr.apply(img, batch, 3 * 224 * 224);
        assertEquals(0f, batch[3 * 224 * 224 - 1]);
        assertEquals((1 - 0.485) / 0.229, batch[3 * 224 * 224], 1e-6);
        var e = assertThrows(IllegalArgumentException.class, () -> tr.apply(img, batch, 4 * 224 * 224));
        assertTrue(e.getMessage().contains("one image needs"), e.getMessage());
    }

    @Test
    void equalNumbersMakeEqualTransforms() {
        assertEquals(t(224, 0.95), EvalTransform.forConfig(MambaOutConfig.variant("base_wide_rw")));
        assertEquals(t(224, 0.95).hashCode(), EvalTransform.forConfig(MambaOutConfig.variant("base_wide_rw")).hashCode());
    }

    @Test
    void rejectsBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> t(224, 0));
        assertThrows(IllegalArgumentException.class, () -> t(224, 1.5));
        assertThrows(IllegalArgumentException.class, () -> t(0, 1.0));
        assertThrows(IllegalArgumentException.class,
                () -> new EvalTransform(224, 1.0, new float[] {0.5f}, EvalTransform.IMAGENET_STD));
    }
}
