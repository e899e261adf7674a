package dev.mambaout.model.train;

import dev.mambaout.model.ParameterSpec;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdamWTest {

    private static final ParameterSpec SPEC = new ParameterSpec(Synthetic.TINY, List.of(
            new ParameterSpec.Param("fc.weight", List.of(2, 2)),
            new ParameterSpec.Param("fc.bias", List.of(2)),
            new ParameterSpec.Param("norm.weight", List.of(2)),
            new ParameterSpec.Param("ls.gamma", List.of(2))));

    private static Map<String, float[]> values(float[]... v) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (int i = 0; i < v.length; i++) m.put(SPEC.params().get(i).name(), v[i]);
        return m;
    }

    private static Map<String, double[]> grads(double[]... v) {
        Map<String, double[]> m = new LinkedHashMap<>();
        for (int i = 0; i < v.length; i++) m.put(SPEC.params().get(i).name(), v[i]);
        return m;
    }

    @Test
    void twoStepsMatchTheTextbookFormula() {
        double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        float[][] p0 = {{0.5f, -1.5f, 2f, 0.25f}, {0.1f, -0.2f}, {1f, 1f}, {1e-6f, 3f}};
        double[][] g1 = {{0.3, -0.02, 1.5, 0}, {-0.7, 0.05}, {0.2, -0.4}, {1e-3, -2}};
        double[][] g2 = {{-0.1, 0.04, 1.0, 0.5}, {0.3, 0.05}, {-0.2, 0.1}, {2e-3, 1}};
        Map<String, float[]> w = values(p0[0].clone(), p0[1].clone(), p0[2].clone(), p0[3].clone());
        Map<String, float[]> m = values(new float[4], new float[2], new float[2], new float[2]);
        Map<String, float[]> v = values(new float[4], new float[2], new float[2], new float[2]);
        AdamW opt = new AdamW(b1, b2, eps, wd);
        opt.update(SPEC, w, grads(g1[0].clone(), g1[1].clone(), g1[2].clone(), g1[3].clone()), m, v, 1, lr);
        opt.update(SPEC, w, grads(g2[0].clone(), g2[1].clone(), g2[2].clone(), g2[3].clone()), m, v, 2, lr);
        for (int k = 0; k < 4; k++) {
            boolean decay = k == 0;
            for (int i = 0; i < p0[k].length; i++) {
                // Loshchilov & Hutter's AdamW with bias-corrected moments, written out for two steps.
                double p = p0[k][i], mm = 0, vv = 0;
                double[] gs = {g1[k][i], g2[k][i]};
                for (int t = 1; t <= 2; t++) {
                    double g = gs[t - 1];
                    if (decay) p -= lr * wd * p;
                    mm = b1 * mm + (1 - b1) * g;
                    vv = b2 * vv + (1 - b2) * g * g;
                    double mHat = mm / (1 - Math.pow(b1, t)), vHat = vv / (1 - Math.pow(b2, t));
                    p -= lr * mHat / (Math.sqrt(vHat) + eps);
                }
                String what = SPEC.params().get(k).name() + "[" + i + "]";
                assertEquals(p, w.get(SPEC.params().get(k).name())[i], 1e-6 * Math.max(1, Math.abs(p)), what);
                assertEquals(mm, m.get(SPEC.params().get(k).name())[i], 1e-7 * Math.max(1, Math.abs(mm)), what + " exp_avg");
                assertEquals(vv, v.get(SPEC.params().get(k).name())[i], 1e-7 * Math.max(1e-3, vv), what + " exp_avg_sq");
            }
        }
    }

    @Test
    void onlyMatrixAndConvWeightsDecay() {
        Map<String, float[]> w = values(new float[] {1, 2, 3, 4}, new float[] {5, 6}, new float[] {7, 8}, new float[] {9, 10});
        Map<String, float[]> zeros = values(new float[4], new float[2], new float[2], new float[2]);
        AdamW opt = AdamW.withWeightDecay(0.5);
        opt.update(SPEC, w, grads(new double[4], new double[2], new double[2], new double[2]), zeros,
                values(new float[4], new float[2], new float[2], new float[2]), 1, 0.1);
        // Zero gradients: the Adam part moves nothing, only decay (factor 1 - 0.1 * 0.5) acts.
        assertEquals(0.95f * 3, w.get("fc.weight")[2], 1e-6f);
        assertEquals(6f, w.get("fc.bias")[1]);
        assertEquals(7f, w.get("norm.weight")[0]);
        assertEquals(10f, w.get("ls.gamma")[1]);

        int decayed = 0, exempt = 0;
        for (ParameterSpec.Param p : ParameterSpec.of(Synthetic.TINY.withInChans(1)).params()) {
            boolean d = AdamW.decays(p);
            String n = p.name();
            boolean matrix = n.endsWith("conv1.weight") || n.endsWith("conv2.weight") || n.endsWith("downsample.conv.weight")
                    || n.endsWith("fc1.weight") || n.endsWith("fc2.weight") || n.endsWith("blocks.0.conv.weight")
                    || n.equals("head.pre_logits.fc.weight") || n.equals("head.fc.weight");
            assertEquals(matrix, d, n);
            if (d) decayed++;
            else exempt++;
        }
        assertTrue(decayed >= 8 && exempt >= 10, decayed + " decayed, " + exempt + " exempt");
        assertFalse(AdamW.decays(new ParameterSpec.Param("stages.1.blocks.0.ls.gamma", List.of(16))));
    }

    @Test
    void clippingScalesToTheMaximumNorm() {
        Map<String, double[]> g = new LinkedHashMap<>();
        g.put("a", new double[] {3, 0});
        g.put("b", new double[] {0, -4});
        assertEquals(5, AdamW.clipGradNorm(g, 10), 1e-12);
        assertEquals(3, g.get("a")[0]);
        assertEquals(5, AdamW.clipGradNorm(g, 1), 1e-12);
        assertEquals(3 / (5 + 1e-6), g.get("a")[0], 1e-15);
        assertEquals(-4 / (5 + 1e-6), g.get("b")[1], 1e-15);
    }
}
