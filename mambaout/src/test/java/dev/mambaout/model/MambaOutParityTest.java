package dev.mambaout.model;

import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.KeyNaming;
import dev.mambaout.model.checkpoint.TensorSource;
import dev.mambaout.graph.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The evidence that the graph computes MambaOut as timm does: the fixtures hold timm's float64 forward and backward
 * pass on random non-trivial weights (make_fixtures.py); the CPU executor must reproduce logits, loss, the stem's
 * and every stage's output, and every gradient. Error = ||out - ref|| / ||ref|| over a whole tensor; NaN fails.
 */
class MambaOutParityTest {

    static double relError(double[] out, double[] ref) {
        assertEquals(ref.length, out.length, "element count");
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        // A reference that is exactly zero (a gradient nothing reaches) is compared absolutely.
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    private record Check(String what, double error, double tolerance) {
        boolean ok() {
            return error <= tolerance; // false for NaN
        }
    }

    /**
     * Runs the training graph on the fixture's input and labels with weights loaded through the checkpoint loader,
     * and compares every reference tensor the file has. Failures are collected so one run shows every wrong tensor
     * (the first bad stage points at the op).
     */
    private static void assertParity(String tag, Path weights, Path reference, Precision precision,
                                     double forwardTol, double gradTol) throws Exception {
        MambaOutConfig c = Fixtures.config(tag);
        List<Check> checks = new ArrayList<>();
        try (TensorSource ref = TensorSource.open(reference)) {
            List<Long> in = ref.info("input").shape();
            MambaOutGraph m = MambaOutGraph.build(c, in.get(0).intValue(), in.get(2).intValue(), in.get(3).intValue(),
                    MambaOutGraph.Mode.TRAINING, MambaOutGraph.Options.DEFAULT
                            .withFloatType(precision == Precision.F64 ? DType.F64 : DType.F32).withFeatures(true));
            Bindings b = new Bindings().putLabels(m.labels(), ref.readLongs("labels"));
            if (precision == Precision.F64) {
                b.put(m.input(), ref.readDoubles("input"));
                Checkpoints.loadDoubles(weights, m.spec(), Checkpoints.Mode.STRICT).values().forEach(b::put);
            } else {
                b.put(m.input(), ref.readFloats("input"));
                Checkpoints.loadFloats(weights, m.spec(), Checkpoints.Mode.STRICT).values().forEach(b::put);
            }
            Results r = new CpuExecutor(precision).run(m.graph(), b);
            checks.add(new Check("logits", relError(r.doubles(m.logits()), ref.readDoubles("logits")), forwardTol));
            checks.add(new Check("loss", relError(r.doubles(m.loss()), ref.readDoubles("loss")), forwardTol));
            for (Map.Entry<String, Tensor> f : m.features().entrySet()) {
                checks.add(new Check("features." + f.getKey(), relError(r.doubles(f.getValue()), ref.readDoubles("features." + f.getKey())), forwardTol));
            }
            checks.add(new Check("grad.input", relError(r.doubles(m.gradient(MambaOutGraph.INPUT)), ref.readDoubles("grad.input")), gradTol));
            int grads = 0;
            for (ParameterSpec.Param p : m.spec().params()) {
                String key = "grad." + p.name();
                if (!ref.contains(key)) continue;
                grads++;
                checks.add(new Check(key, relError(r.doubles(m.gradient(p.name())), ref.readDoubles(key)), gradTol));
            }
            long expectedGrads = ref.names().stream().filter(n -> n.startsWith("grad.") && !n.equals("grad.input")).count();
            assertEquals(expectedGrads, grads, "every parameter gradient in the reference was compared");
        }
        // The worst errors go to the test log, so the margin to each tolerance is on record, not just pass/fail.
        Check worstForward = checks.stream().filter(ch -> !ch.what().startsWith("grad."))
                .max(Comparator.comparingDouble(Check::error)).orElseThrow();
        Check worstGrad = checks.stream().filter(ch -> ch.what().startsWith("grad."))
                .max(Comparator.comparingDouble(Check::error)).orElseThrow();
        System.out.printf("parity %s %s: %d tensors; worst forward %s %.3g (tol %.0e); worst gradient %s %.3g (tol %.0e)%n",
                tag, precision, checks.size(), worstForward.what(), worstForward.error(), forwardTol,
                worstGrad.what(), worstGrad.error(), gradTol);
        List<Check> bad = checks.stream().filter(ch -> !ch.ok()).toList();
        assertTrue(bad.isEmpty(), tag + " " + precision + ": " + bad.size() + " of " + checks.size()
                + " tensors outside tolerance: " + bad);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mini", "mini_rw"})
    void float64MatchesTimm(String tag) throws Exception {
        assertParity(tag, Fixtures.resource(tag + ".safetensors"), Fixtures.resource(tag + ".reference.safetensors"),
                Precision.F64, 1e-10, 1e-8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mini", "mini_rw"})
    void float32MatchesTimm(String tag) throws Exception {
        assertParity(tag, Fixtures.resource(tag + ".safetensors"), Fixtures.resource(tag + ".reference.safetensors"),
                Precision.F32, 1e-4, 1e-4);
    }

    @Test
    void officialNamesGiveTheSameLogits() throws Exception {
        MambaOutGraph m = MambaOutGraph.inference(Fixtures.MINI, 2, 64, 64);
        double[] input;
        double[] refLogits;
        try (TensorSource ref = TensorSource.open(Fixtures.resource("mini.reference.safetensors"))) {
            input = ref.readDoubles("input");
            refLogits = ref.readDoubles("logits");
        }
        Checkpoints.Loaded<double[]> timm = Checkpoints.loadDoubles(Fixtures.resource("mini.safetensors"), m.spec(), Checkpoints.Mode.STRICT);
        Checkpoints.Loaded<double[]> official = Checkpoints.loadDoubles(Fixtures.resource("mini.official.safetensors"), m.spec(), Checkpoints.Mode.STRICT);
        assertEquals(KeyNaming.OFFICIAL, official.naming());
        CpuExecutor cpu = new CpuExecutor(Precision.F64);
        Bindings bt = new Bindings().put(m.input(), input);
        timm.values().forEach(bt::put);
        Bindings bo = new Bindings().put(m.input(), input);
        official.values().forEach(bo::put);
        double[] lt = cpu.run(m.graph(), bt).doubles(m.logits());
        double[] lo = cpu.run(m.graph(), bo).doubles(m.logits());
        assertArrayEquals(lt, lo, 0.0);
        double err = relError(lo, refLogits);
        assertTrue(err <= 1e-10, "official-name logits vs timm reference: " + err);
    }

    /** femto: BF16 weights, 224 x 224, float32 executor; the reference lists a subset of gradients. */
    @Test
    void femtoFloat32MatchesTimm() throws Exception {
        Path weights = Fixtures.shared("femto.safetensors");
        Path reference = Fixtures.shared("femto.reference.safetensors");
        assertParity("femto", weights, reference, Precision.F32, 1e-4, 1e-3);
    }
}
