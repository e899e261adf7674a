package dev.mambaout.model.train;

import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.model.ParameterSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU optimizer's documented formula ({@link AdamWKernels#reference}, the host mirror of adamw.cu that
 * AdamWGpuTest checks the kernels against) over the flat layout of {@link AdamWKernels#plan} equals
 * {@link AdamW#update} after {@link AdamW#clipGradNorm} on a real model's parameters, bit for bit, clipping on and
 * off; and the plan's decay split is {@link AdamW#decays}.
 */
class FlatAdamWTest {

    private static final double B1 = 0.9, B2 = 0.999, EPS = 1e-8, WD = 0.05;

    @Test
    void flatReferenceEqualsAdamWJava() {
        for (double clipGrad : new double[] {0, 0.5}) run(clipGrad);
    }

    private static void run(double clipGrad) {
        ParameterSpec spec = ParameterSpec.of(Synthetic.TINY.withInChans(1));
        List<ParameterSpec.Param> params = spec.params();
        long[] numel = params.stream().mapToLong(ParameterSpec.Param::numel).toArray();
        boolean[] decays = new boolean[params.size()];
        for (int i = 0; i < decays.length; i++) decays[i] = AdamW.decays(params.get(i));
        AdamWKernels.Layout layout = AdamWKernels.plan(numel, decays);
        for (int i = 0; i < decays.length; i++) {
            assertEquals(decays[i], layout.offset(i) < layout.decayCount(), params.get(i).name());
        }
        int n = Math.toIntExact(layout.total());
        // clipGradNorm sums the map in iteration order: the gradients map follows the flat order, so both sum the same
        // values in the same order (the flat one adds the padding's zeros, which is exact).
        List<Integer> flatOrder = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) flatOrder.add(i);
        flatOrder.sort(Comparator.comparingLong(layout::offset));

        Random r = new Random(42);
        float[] fp = new float[n], fm = new float[n], fv = new float[n];
        Map<String, float[]> w = new LinkedHashMap<>(), m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
        for (int k = 0; k < params.size(); k++) {
            int len = (int) numel[k], off = (int) layout.offset(k);
            float[] wk = new float[len], mk = new float[len], vk = new float[len];
            for (int i = 0; i < len; i++) {
                wk[i] = 0.3f * (float) r.nextGaussian();
                mk[i] = 0.01f * (float) r.nextGaussian();
                float s = 0.1f * (float) r.nextGaussian();
                vk[i] = s * s;
            }
            w.put(params.get(k).name(), wk);
            m.put(params.get(k).name(), mk);
            v.put(params.get(k).name(), vk);
            System.arraycopy(wk, 0, fp, off, len);
            System.arraycopy(mk, 0, fm, off, len);
            System.arraycopy(vk, 0, fv, off, len);
        }

        AdamW opt = new AdamW(B1, B2, EPS, WD);
        boolean clipped = false;
        for (int step = 1; step <= 3; step++) {
            double lr = 1e-3 * step;
            float[] fg = new float[n];
            Map<String, double[]> grads = new LinkedHashMap<>();
            for (int k : flatOrder) {
                int len = (int) numel[k], off = (int) layout.offset(k);
                double[] gk = new double[len];
                for (int i = 0; i < len; i++) {
                    fg[off + i] = (float) (0.2 * r.nextGaussian());
                    gk[i] = fg[off + i];
                }
                grads.put(params.get(k).name(), gk);
            }
            double norm = AdamW.clipGradNorm(grads, clipGrad > 0 ? clipGrad : Double.POSITIVE_INFINITY);
            opt.update(spec, w, grads, m, v, step, lr);
            double flatNorm = AdamWKernels.reference(fp, fm, fv, fg, layout.decayCount(),
                    new AdamWKernels.Hyper(lr, B1, B2, EPS, WD, step, clipGrad).toArray());
            assertEquals(norm, flatNorm, 0.0, "norm at step " + step);
            clipped |= clipGrad > 0 && norm > clipGrad;
            for (int k = 0; k < params.size(); k++) {
                String name = params.get(k).name();
                int off = (int) layout.offset(k);
                for (int i = 0; i < numel[k]; i++) {
                    String at = name + "[" + i + "] step " + step + " clip " + clipGrad;
                    assertEquals(w.get(name)[i], fp[off + i], 0f, at);
                    assertEquals(m.get(name)[i], fm[off + i], 0f, at + " exp_avg");
                    assertEquals(v.get(name)[i], fv[off + i], 0f, at + " exp_avg_sq");
                }
            }
            for (int i = 0; i < n; i++) {
                if (fp[i] == 0 && fm[i] == 0 && fv[i] == 0) continue;
                boolean inSlice = false;
                for (int k = 0; k < params.size() && !inSlice; k++) {
                    inSlice = i >= layout.offset(k) && i < layout.offset(k) + numel[k];
                }
                assertTrue(inSlice, "padding element " + i + " changed");
            }
        }
        assertEquals(clipGrad > 0, clipped, "the clipped run must actually clip");
    }
}
