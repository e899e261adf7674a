package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.AdamWLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The adamw kernels through {@link AdamWLaunch} against {@link AdamWKernels#reference} (AdamW.java's update and
 * clipGradNorm in double with float state, over the flat buffers; mambaout's FlatAdamWTest checks that it equals
 * AdamW.java bit for bit), several steps with a changing lr and step count written into the hyperparameter buffer
 * between steps, clipping off / binding / not binding, with and without the bf16 copy.
 *
 * <p>Layouts: {@link AdamWKernels#plan} of odd-sized segments with decay on and off (zero padding, which must stay
 * zero), the same at ~3.1M elements (the sumsq grid is capped, so threads loop), and an unplanned contiguous buffer
 * whose decay split falls inside a float4 and whose length leaves a 3-element tail, aligned (the vector path) and
 * viewed one element off 16-byte alignment (the scalar paths). The bf16
 * copy, the norm and the workspace are poisoned with NaN first. Checks per step: each segment's p, m, v within 1e-6
 * normwise of one reference step from the GPU's own previous state (scaled by what that step's float rounding is
 * relative to, so a wrong decay split or a skipped element of a 1-element parameter shows), the whole buffers within
 * 1e-6 of an independent CPU trajectory; the norm within 1e-6 of the double norm; the bf16 copy exactly the
 * round-to-nearest-even of the f32 result; padding exactly zero; and (step 1) the norm bit-identical over repeated
 * runs. A second test captures the step, with the pinned-to-device copy of the hyperparameters, in a CUDA graph and
 * replays it with a new lr and step written into the pinned buffer before each replay.
 */
@Tag("gpu")
class AdamWGpuTest {

    private static final double TOL = 1e-6, NORM_TOL = 1e-6;
    private static final int STEPS = 4;

    enum Layout { PLANNED, LARGE, UNPADDED, UNPADDED_MISALIGNED }

    enum Clip { OFF, BINDING, LOOSE }

    static java.util.stream.Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values())
            for (Layout l : Layout.values())
                for (Clip c : Clip.values())
                    for (boolean bf16 : new boolean[] {true, false}) out.add(Arguments.of(b, l, c, bf16));
        return out.stream();
    }

    /** The flat state and every step's gradients; covered[i] is false on padding. */
    private record Problem(int n, long decayCount, boolean misaligned, float[] p, float[] m, float[] v, float[][] g,
                           boolean[] covered, long[] offsets, long[] sizes) {}

    private static Problem problem(Layout layout, Random r) {
        long[] sizes;
        boolean[] decays;
        switch (layout) {
            case PLANNED -> {
                sizes = new long[] {1, 3, 17, 96, 4099, 1000, 513, 7, 2304, 65};
                decays = new boolean[] {false, true, false, true, true, false, true, false, true, false};
            }
            case LARGE -> {
                sizes = new long[] {1_500_007, 3, 600_001, 288, 1_000_003, 17};
                decays = new boolean[] {true, false, true, false, false, true};
            }
            default -> {
                sizes = new long[] {4321, 5686};   // one contiguous buffer, split inside a float4
                decays = new boolean[] {true, false};
            }
        }
        long[] offsets;
        long decayCount;
        int n;
        boolean unplanned = layout == Layout.UNPADDED || layout == Layout.UNPADDED_MISALIGNED;
        if (unplanned) {
            offsets = new long[] {0, sizes[0]};
            decayCount = sizes[0];
            n = (int) (sizes[0] + sizes[1]);
        } else {
            AdamWKernels.Layout plan = AdamWKernels.plan(sizes, decays);
            offsets = plan.offsets();
            decayCount = plan.decayCount();
            n = (int) plan.total();
        }
        float[] p = new float[n], m = new float[n], v = new float[n];
        float[][] g = new float[STEPS][n];
        boolean[] covered = new boolean[n];
        boolean zeroMoments = layout == Layout.PLANNED;   // the first steps of a run; the others start mid-run
        for (int k = 0; k < sizes.length; k++) {
            float wScale = 0.02f + 0.5f * r.nextFloat(), gScale = (float) Math.pow(10, -2 + 3 * r.nextDouble());
            for (long j = 0; j < sizes[k]; j++) {
                int i = (int) (offsets[k] + j);
                covered[i] = true;
                p[i] = wScale * (float) r.nextGaussian();
                if (!zeroMoments) {
                    m[i] = 0.1f * gScale * (float) r.nextGaussian();
                    float s = gScale * (float) r.nextGaussian();
                    v[i] = s * s;
                }
                for (int t = 0; t < STEPS; t++) g[t][i] = gScale * (float) r.nextGaussian();
            }
        }
        return new Problem(n, decayCount, layout == Layout.UNPADDED_MISALIGNED, p, m, v, g, covered, offsets, sizes);
    }

    private static double hostNorm(float[] g) {
        double s = 0;
        for (float x : g) s += (double) x * x;
        return Math.sqrt(s);
    }

    private static AdamWKernels.Hyper hyper(int step, double maxNorm) {
        return new AdamWKernels.Hyper(0.01 * (1 + 0.5 * step), 0.9, 0.999, 1e-8, 0.05, step, maxNorm);
    }

    private static double maxNorm(Clip clip, Problem pr) {
        return switch (clip) {
            case OFF -> 0;
            case BINDING -> 0.3 * hostNorm(pr.g()[0]);
            case LOOSE -> 1e3 * hostNorm(pr.g()[0]);
        };
    }

    /** The device buffers of one problem, p, m, v uploaded; the bf16 copy, norm and workspace poisoned. */
    private record Buffers(Tensor p, Tensor g, Tensor m, Tensor v, Tensor bf16, Tensor norm, Tensor hyper, Tensor ws) {}

    private static Buffers buffers(Device dev, DeviceArena arena, PinnedBuffer host, Stream s, Problem pr, boolean bf16) {
        int off = pr.misaligned() ? 1 : 0, n = pr.n();
        Shape alloc = Shape.of(n + off), view = Shape.of(n);
        Tensor p = arena.allocate(DType.F32, alloc).view(off, view), g = arena.allocate(DType.F32, alloc).view(off, view);
        Tensor m = arena.allocate(DType.F32, alloc).view(off, view), v = arena.allocate(DType.F32, alloc).view(off, view);
        Tensor b = null;
        if (bf16) {
            Tensor whole = arena.allocate(DType.BF16, Shape.of(n + off + 1));
            GpuSupport.poison(dev, whole, s);
            b = whole.view(off, view);
        }
        Tensor norm = arena.allocate(DType.F32, Shape.of(1)), hyper = arena.allocate(DType.F64, Shape.of(AdamWKernels.HYPER_DOUBLES));
        Tensor ws = arena.allocate(DType.U8, Shape.of(AdamWKernels.WORKSPACE_BYTES));
        GpuSupport.poison(dev, norm, s);
        GpuSupport.poison(dev, ws, s);
        GpuSupport.upload(host, p, pr.p(), s);
        GpuSupport.upload(host, m, pr.m(), s);
        GpuSupport.upload(host, v, pr.v(), s);
        return new Buffers(p, g, m, v, b, norm, hyper, ws);
    }

    private static long arenaBytes(Problem pr) { return 18L * (pr.n() + 16) + (1L << 20); }

    @ParameterizedTest(name = "{0} {1} clip={2} bf16={3}")
    @MethodSource("cases")
    void stepsMatchTheReference(Backend backend, Layout layout, Clip clip, boolean bf16) {
        Random r = new Random(layout.ordinal() * 1_000_003L + clip.ordinal() * 31L + System.nanoTime());
        Problem pr = problem(layout, r);
        States st = new States(pr);
        double maxNorm = maxNorm(clip, pr);
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(arenaBytes(pr)); PinnedBuffer host = dev.newPinned(4L * (pr.n() + 2));
             PinnedBuffer hostHyper = dev.newPinned(AdamWKernels.HYPER_BYTES)) {
            Buffers d = buffers(dev, arena, host, s, pr, bf16);
            try (AdamWLaunch step = AdamWLaunch.prepare(dev.modules(), d.p(), d.g(), d.m(), d.v(), d.bf16(), d.norm(),
                    d.hyper(), d.ws(), pr.decayCount())) {
                for (int t = 1; t <= STEPS; t++) {
                    AdamWKernels.Hyper h = hyper(t, maxNorm);
                    GpuSupport.upload(host, d.g(), pr.g()[t - 1], s);
                    AdamWLaunch.writeHyper(hostHyper, h);
                    hostHyper.uploadAsync(d.hyper(), s);
                    Integer normBits = null;
                    if (t == 1) {
                        step.launchGradNorm(s);
                        float first = GpuSupport.download(host, d.norm(), s)[0];
                        step.launchGradNorm(s);
                        float again = GpuSupport.download(host, d.norm(), s)[0];
                        assertEquals(Float.floatToRawIntBits(first), Float.floatToRawIntBits(again),
                                "the norm must be reproducible: " + first + " then " + again);
                        normBits = Float.floatToRawIntBits(first);
                    }
                    step.launch(s);
                    String what = layout + " clip=" + clip + " bf16=" + bf16 + " step " + t;
                    double refNorm = st.check(what, host, s, d, pr, pr.g()[t - 1], h, bf16);
                    if (clip == Clip.BINDING) assertTrue(refNorm > maxNorm, what + ": the case must clip");
                    if (clip == Clip.LOOSE) assertTrue(refNorm < maxNorm, what + ": the case must not clip");
                    if (normBits != null) {
                        assertEquals(normBits, Float.floatToRawIntBits(GpuSupport.download(host, d.norm(), s)[0]),
                                what + ": the step's norm differs from the norm pass's");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void capturedStepReplaysWithNewHyperparameters(Backend backend) {
        Random r = new Random(System.nanoTime());
        Problem pr = problem(Layout.PLANNED, r);
        States st = new States(pr);
        double maxNorm = maxNorm(Clip.BINDING, pr);
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(arenaBytes(pr)); PinnedBuffer host = dev.newPinned(4L * (pr.n() + 2));
             PinnedBuffer hostHyper = dev.newPinned(AdamWKernels.HYPER_BYTES)) {
            Buffers d = buffers(dev, arena, host, s, pr, true);
            AdamWLaunch.writeHyper(hostHyper, hyper(1, maxNorm));
            try (AdamWLaunch step = AdamWLaunch.prepare(dev.modules(), d.p(), d.g(), d.m(), d.v(), d.bf16(), d.norm(),
                    d.hyper(), d.ws(), pr.decayCount());
                 CudaGraph graph = CudaGraph.capture(dev.driver(), s, () -> {
                     hostHyper.uploadAsync(d.hyper(), s);
                     step.launch(s);
                 })) {
                float[] probe = GpuSupport.download(host, d.p(), s);
                for (int i = 0; i < pr.n(); i++) {
                    if (Float.floatToRawIntBits(pr.p()[i]) != Float.floatToRawIntBits(probe[i])) {
                        throw new AssertionError("capture must not execute the step: p[" + i + "] changed");
                    }
                }
                for (int t = 1; t <= STEPS; t++) {
                    AdamWKernels.Hyper h = hyper(t, maxNorm);
                    GpuSupport.upload(host, d.g(), pr.g()[t - 1], s);   // synchronizes: the last replay is done
                    AdamWLaunch.writeHyper(hostHyper, h);
                    graph.replay(s);
                    double refNorm = st.check("graph replay " + t, host, s, d, pr, pr.g()[t - 1], h, true);
                    assertTrue(refNorm > maxNorm, "replay " + t + ": the case must clip");
                }
            }
        }
    }

    /**
     * The GPU's state before the step (each step is checked against one reference step from it, so the bound is one
     * step's rounding) and an independent CPU trajectory from the start (checked normwise: the steps compose).
     */
    private static final class States {
        float[] p, m, v;
        final float[] tp, tm, tv;

        States(Problem pr) {
            p = pr.p().clone();
            m = pr.m().clone();
            v = pr.v().clone();
            tp = pr.p().clone();
            tm = pr.m().clone();
            tv = pr.v().clone();
        }

        /** Downloads the step's results, checks them, keeps them as the next step's state; returns the double norm. */
        double check(String what, PinnedBuffer host, Stream s, Buffers d, Problem pr, float[] g, AdamWKernels.Hyper h,
                     boolean bf16) {
            float[] rp = p.clone(), rm = m.clone(), rv = v.clone();
            double refNorm = AdamWKernels.reference(rp, rm, rv, g, pr.decayCount(), h.toArray());
            AdamWKernels.reference(tp, tm, tv, g, pr.decayCount(), h.toArray());

            float norm = GpuSupport.download(host, d.norm(), s)[0];
            double ne = Math.abs(norm - refNorm) / refNorm;
            assertTrue(ne < NORM_TOL, what + ": norm " + norm + " vs " + refNorm + " (relative " + ne + ")");
            float[] gp = GpuSupport.download(host, d.p(), s);
            float[] gm = GpuSupport.download(host, d.m(), s);
            float[] gv = GpuSupport.download(host, d.v(), s);

            // Per segment, so a wrong decay or a missed element of a small parameter is not hidden by the large ones.
            // Scales: what one step's float rounding is relative to (|p| before and after; m's terms; v's terms).
            int n = pr.n();
            double[] sp = new double[n], sm = new double[n], sv = new double[n];
            for (int i = 0; i < n; i++) {
                sp[i] = Math.abs(p[i]) + Math.abs(rp[i]);
                sm[i] = Math.abs(m[i]) + 0.1 * Math.abs(g[i]) + Math.abs(rm[i]);
                sv[i] = v[i] + rv[i];
            }
            for (int k = 0; k < pr.sizes().length; k++) {
                int from = (int) pr.offsets()[k], to = (int) (pr.offsets()[k] + pr.sizes()[k]);
                String seg = what + " segment " + k + " [" + from + ", " + to + ")" + (from < pr.decayCount() ? " decay" : "");
                segment(seg, "p", gp, rp, sp, from, to);
                segment(seg, "m", gm, rm, sm, from, to);
                segment(seg, "v", gv, rv, sv, from, to);
            }
            for (Object[] c : new Object[][] {{"p", gp, tp}, {"m", gm, tm}, {"v", gv, tv}}) {
                double e = GpuSupport.relError((float[]) c[1], GpuSupport.toDoubles((float[]) c[2]));
                assertTrue(e < TOL, what + ": " + c[0] + " relative error " + e + " >= " + TOL + " against the CPU trajectory");
            }
            for (int i = 0; i < n; i++) {
                if (!pr.covered()[i] && (gp[i] != 0 || gm[i] != 0 || gv[i] != 0)) {
                    throw new AssertionError(what + ": padding element " + i + " is " + gp[i] + ", " + gm[i] + ", " + gv[i]);
                }
            }
            if (bf16) {
                float[] b = GpuSupport.download(host, d.bf16(), s);
                for (int i = 0; i < n; i++) {
                    float want = DType.bf16ToFloat(DType.floatToBf16(gp[i]));
                    if (Float.floatToRawIntBits(b[i]) != Float.floatToRawIntBits(want)) {
                        throw new AssertionError(what + ": bf16 copy [" + i + "] = " + b[i]
                                + ", round-to-nearest-even of " + gp[i] + " is " + want);
                    }
                }
            }
            p = gp;
            m = gm;
            v = gv;
            return refNorm;
        }

        private static void segment(String what, String name, float[] got, float[] ref, double[] scale, int from, int to) {
            double e = GpuSupport.relError(Arrays.copyOfRange(got, from, to),
                    GpuSupport.toDoubles(Arrays.copyOfRange(ref, from, to)), Arrays.copyOfRange(scale, from, to));
            assertTrue(e < TOL, what + ": " + name + " relative error " + e + " >= " + TOL + " (one step)");
        }
    }
}
