package dev.mambaout.runtime.exec;

import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.kernels.Kernels;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.Device;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A whole training step on the GPU against the CPU executor on the same small MambaOut-shaped graphs, weights and
 * batch: the loss, the logits and every parameter's gradient (f32 within 1e-4 relative per tensor, bf16 within
 * 5e-2), the gradient norm, and the AdamW update against {@link AdamWKernels#reference} from the GPU's own
 * gradients (clipping binding). Two steps: the first runs the steps one by one, the second replays the captured
 * CUDA graph, and is checked against the CPU at the weights the first step left.
 */
@Tag("gpu")
class GpuTrainProgramGpuTest {

    static java.util.stream.Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TrainingNets.Spec other = new TrainingNets.Spec(4, 1, 32, 29, new int[] {16, 24, 32}, new int[] {2, 1, 1}, 5, 0.5, Activation.SILU,
                true, false, false, 10, 0.0);
        for (Backend b : Backend.values()) {
            for (Precision p : new Precision[] {Precision.F32, Precision.BF16}) {
                out.add(Arguments.of(b, p, TrainingNets.small()));
                out.add(Arguments.of(b, p, other));
                TrainingNets.Spec s = TrainingNets.small();
                out.add(Arguments.of(b, p, new TrainingNets.Spec(s.batch(), s.inChans(), s.height(), s.width(), s.dims(),
                        s.depths(), 3, 1.25, Activation.SILU, true, false, true, s.classes(), s.smoothing())));
            }
        }
        return out.stream();
    }

    private record Reference(double loss, float[] logits, Map<String, double[]> grads) {}

    private static Reference cpu(TrainingNets.Net n, Map<String, float[]> w, float[] images, int[] labels) {
        Bindings b = new Bindings().put(n.input(), images).putLabels(n.labels(), labels);
        w.forEach(b::put);
        Results r = new CpuExecutor(dev.mambaout.graph.cpu.Precision.F32).run(n.training().graph(), b);
        Map<String, double[]> g = new LinkedHashMap<>();
        for (String name : w.keySet()) g.put(name, r.doubles(n.training().gradient(name)));
        return new Reference(r.scalar(n.training().loss()), r.floats(n.logits()), g);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void twoStepsMatchTheCpuExecutor(Backend backend, Precision precision, TrainingNets.Spec spec) {
        Cuda.Availability a = Cuda.availability(backend);
        assumeTrue(a.available(), a.reason());
        Kernels.BuildInfo k = Kernels.buildInfo();
        assumeTrue(k.built(), "kernels: " + k.reason());
        double tol = precision == Precision.BF16 ? 5e-2 : 1e-4;
        TrainingNets.Net n = TrainingNets.build(spec);
        Random r = new Random(11);
        Map<String, float[]> w = TrainingNets.weights(n, 3);
        int[] labels = new int[spec.batch()];
        for (int i = 0; i < labels.length; i++) labels[i] = r.nextInt(spec.classes());
        float[] images = new float[Math.toIntExact(n.input().numel())];
        for (int i = 0; i < images.length; i++) images[i] = (float) r.nextGaussian();
        AdamWKernels.Hyper h = new AdamWKernels.Hyper(2e-3, 0.9, 0.999, 1e-8, 0.05, 1, 0.5);

        try (Device dev = Device.open(Cuda.open(backend), 0);
             GpuTrainProgram g = GpuTrainProgram.build(dev, n.training(), n.logits(), precision, TrainingNets::decays)) {
            g.setState(w, null, null);
            Map<String, float[]> before = w;
            for (int step = 1; step <= 2; step++) {
                String at = precision + " " + backend + " step " + step + ": ";
                Reference ref = cpu(n, before, images, labels);
                g.setBatch(MemorySegment.ofArray(images), MemorySegment.ofArray(labels));
                g.step(h.at(step, h.lr()));
                assertClose(ref.loss(), g.loss(), tol, at + "loss");
                float[] logits = new float[ref.logits().length];
                g.logits(logits);
                assertTrue(relative(toDouble(logits), toDouble(ref.logits())) <= tol, at + "logits off by "
                        + relative(toDouble(logits), toDouble(ref.logits())));
                Map<String, float[]> grads = g.gradients();
                double sum = 0;
                for (var e : ref.grads().entrySet()) {
                    double[] got = toDouble(grads.get(e.getKey()));
                    double err = relative(got, e.getValue());
                    assertTrue(err <= tol, at + "gradient of " + e.getKey() + " off by " + err);
                    for (double x : got) sum += x * x;
                }
                assertClose(Math.sqrt(sum), g.gradNorm(), 1e-5, at + "gradient norm");
                if (step == 1) checkAdamW(g, before, grads, h.at(step, h.lr()), at);
                before = g.weights();
            }
        }
    }

    /**
     * The first update: {@link AdamWKernels#reference} over the parameters in flat order (decaying first) from the
     * weights before, the GPU's gradients and zero moments, against the GPU's weights after (the update itself, so
     * the unchanged bulk of a weight does not hide an error).
     */
    private static void checkAdamW(GpuTrainProgram g, Map<String, float[]> before, Map<String, float[]> grads,
                                   AdamWKernels.Hyper h, String at) {
        List<String> names = new ArrayList<>(), decaying = new ArrayList<>(), exempt = new ArrayList<>();
        for (String name : g.parameterNames()) {
            (g.shape(name).dims().length > 1 && !name.endsWith(".bias") ? decaying : exempt).add(name);
        }
        names.addAll(decaying);
        names.addAll(exempt);
        int total = 0;
        long decayCount = 0;
        for (String name : names) {
            total += before.get(name).length;
            if (decaying.contains(name)) decayCount = total;
        }
        float[] p = new float[total], m = new float[total], v = new float[total], gr = new float[total];
        int at0 = 0;
        for (String name : names) {
            float[] src = before.get(name);
            System.arraycopy(src, 0, p, at0, src.length);
            System.arraycopy(grads.get(name), 0, gr, at0, src.length);
            at0 += src.length;
        }
        float[] p0 = p.clone();
        AdamWKernels.reference(p, m, v, gr, decayCount, h.toArray());
        Map<String, float[]> after = g.weights();
        double num = 0, den = 0;
        int i0 = 0;
        for (String name : names) {
            float[] got = after.get(name);
            for (int i = 0; i < got.length; i++) {
                double want = p[i0 + i] - p0[i0 + i], have = got[i] - p0[i0 + i];
                num += (want - have) * (want - have);
                den += want * want;
            }
            i0 += got.length;
        }
        double err = Math.sqrt(num / den);
        assertTrue(err <= 1e-3, at + "AdamW update off by " + err + " relative");
    }

    private static void assertClose(double want, double got, double tol, String what) {
        double err = Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
        assertTrue(err <= tol && !Double.isNaN(got), what + ": " + got + " vs " + want + " (" + err + ")");
    }

    private static double relative(double[] got, double[] want) {
        assertEquals(want.length, got.length);
        double num = 0, den = 0;
        for (int i = 0; i < got.length; i++) {
            if (Double.isNaN(got[i])) return Double.NaN;
            num += (got[i] - want[i]) * (got[i] - want[i]);
            den += want[i] * want[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
