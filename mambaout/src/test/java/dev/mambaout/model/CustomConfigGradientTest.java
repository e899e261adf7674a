package dev.mambaout.model;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A structure none of the fixtures has — one input channel, three stages of which one is empty, a 5x5 depthwise
 * kernel, conv channels < hidden, SiLU, LayerScale, odd 37x23 input, label smoothing — built and differentiated end to
 * end, checked against central finite differences of the loss in float64 (an independent reference: it needs only
 * the forward pass).
 */
class CustomConfigGradientTest {

    private static final MambaOutConfig CUSTOM = new MambaOutConfig("custom", 1, 7, List.of(1, 0, 2), List.of(8, 12, 20),
            2.5, 0.75, 5, true, MambaOutConfig.Downsample.CONV_NORM_FIRST, true, MambaOutConfig.Activation.SILU,
            MambaOutConfig.Head.MLP, 37, 1.0);

    @Test
    void gradientsMatchFiniteDifferences() {
        int batch = 2, h = 37, w = 23;
        MambaOutGraph m = MambaOutGraph.build(CUSTOM, batch, h, w, MambaOutGraph.Mode.TRAINING,
                MambaOutGraph.Options.DEFAULT.withFloatType(DType.F64).withLabelSmoothing(0.1));
        Random rnd = new Random(20261126);
        Map<String, double[]> params = new HashMap<>();
        for (ParameterSpec.Param p : m.spec().params()) {
            double[] v = new double[Math.toIntExact(p.numel())];
            boolean norm = p.name().endsWith("norm.weight") || p.name().endsWith("norm1.weight") || p.name().endsWith("norm2.weight");
            double fanIn = p.shape().size() > 1 ? p.numel() / (double) p.shape().getFirst() : 1;
            for (int i = 0; i < v.length; i++) {
                double g = rnd.nextGaussian();
                v[i] = norm ? 1 + 0.1 * g : p.name().endsWith("gamma") ? 0.5 + 0.1 * g
                        : p.shape().size() == 1 ? 0.1 * g : g / Math.sqrt(fanIn);
            }
            params.put(p.name(), v);
        }
        double[] input = rnd.doubles((long) batch * h * w).map(x -> x * 2 - 1).toArray();
        long[] labels = {3, 6};
        CpuExecutor cpu = new CpuExecutor(Precision.F64);
        Results r = cpu.run(m.graph(), bind(m, params, input, labels));

        int checked = 0;
        double worst = 0;
        for (String name : List.of("stem.conv1.weight", "stem.norm1.bias", "stages.0.blocks.0.conv.weight",
                "stages.0.blocks.0.fc1.bias", "stages.2.downsample.norm.weight", "stages.2.downsample.conv.weight",
                "stages.2.blocks.1.ls.gamma", "stages.2.blocks.0.fc2.weight", "head.pre_logits.norm.weight", "head.fc.bias",
                MambaOutGraph.INPUT)) {
            double[] values = name.equals(MambaOutGraph.INPUT) ? input : params.get(name);
            double[] grad = r.doubles(m.gradient(name));
            assertEquals(values.length, grad.length, name);
            for (int k = 0; k < 3; k++) {
                int i = rnd.nextInt(values.length);
                double saved = values[i], eps = 1e-5;
                values[i] = saved + eps;
                double up = cpu.run(m.graph(), bind(m, params, input, labels)).scalar(m.loss());
                values[i] = saved - eps;
                double down = cpu.run(m.graph(), bind(m, params, input, labels)).scalar(m.loss());
                values[i] = saved;
                double fd = (up - down) / (2 * eps);
                double err = Math.abs(fd - grad[i]) / Math.max(1e-6, Math.abs(fd) + Math.abs(grad[i]));
                worst = Math.max(worst, err);
                assertTrue(err < 1e-5, name + "[" + i + "]: autodiff " + grad[i] + " vs finite difference " + fd);
                checked++;
            }
        }
        System.out.printf("custom config: %d gradient elements vs finite differences, worst relative error %.2e%n", checked, worst);
    }

    private static Bindings bind(MambaOutGraph m, Map<String, double[]> params, double[] input, long[] labels) {
        Bindings b = new Bindings().put(m.input(), input).putLabels(m.labels(), labels);
        params.forEach(b::put);
        return b;
    }
}
