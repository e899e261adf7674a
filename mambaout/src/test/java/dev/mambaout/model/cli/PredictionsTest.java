package dev.mambaout.model.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PredictionsTest {

    @Test
    void topKRanksBySoftmax() {
        float[] logits = {9, 1, 2, 3, 0, 3, 7}; // offset 1: classes 0..5 = 1, 2, 3, 0, 3, 7
        List<Predictions.Prediction> top = Predictions.topK(logits, 1, 5, 3);
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(0) + Math.exp(3);
        assertEquals(List.of(2, 4, 1), top.stream().map(Predictions.Prediction::index).toList(), "ties: lower index first");
        assertEquals(Math.exp(3) / z, top.get(0).probability(), 1e-15);
        assertEquals(Math.exp(3) / z, top.get(1).probability(), 1e-15);
        assertEquals(Math.exp(2) / z, top.get(2).probability(), 1e-15);
    }

    @Test
    void softmaxSurvivesLargeLogits() {
        double[] p = Predictions.softmax(new float[] {1000f, 1000f, -1000f}, 0, 3);
        assertEquals(0.5, p[0], 1e-15);
        assertEquals(0.5, p[1], 1e-15);
        assertEquals(0.0, p[2], 1e-300);
    }

    @Test
    void kLargerThanClassesReturnsAll() {
        assertEquals(2, Predictions.topK(new float[] {1, 2}, 0, 2, 5).size());
    }

    @Test
    void nanLogitsAreAnError() {
        var e = assertThrows(IllegalStateException.class, () -> Predictions.topK(new float[] {1, Float.NaN}, 0, 2, 1));
        assertEquals("logit 1 is NaN: the forward pass diverged", e.getMessage());
    }
}
