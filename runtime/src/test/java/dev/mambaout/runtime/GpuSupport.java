package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.kernels.Kernels;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;

import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Shared by the GPU tests: skip with the reason when there is no GPU or no compiled kernels; small helpers. */
final class GpuSupport {

    private GpuSupport() {}

    static Device open(CudaDriver.Backend backend) {
        Cuda.Availability a = Cuda.availability(backend);
        assumeTrue(a.available(), a.reason());
        Kernels.BuildInfo k = Kernels.buildInfo();
        assumeTrue(k.built(), "kernels: " + k.reason());
        return Device.open(Cuda.open(backend), 0);
    }

    /** Every case on both driver backends in F32 and BF16: arguments (backend, dtype, case...). */
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> onBothBackendsAndTypes(Object[][] cases) {
        java.util.List<org.junit.jupiter.params.provider.Arguments> out = new java.util.ArrayList<>();
        for (CudaDriver.Backend b : CudaDriver.Backend.values()) {
            for (DType t : new DType[] {DType.F32, DType.BF16}) {
                for (Object[] c : cases) {
                    Object[] a = new Object[c.length + 2];
                    a[0] = b;
                    a[1] = t;
                    System.arraycopy(c, 0, a, 2, c.length);
                    out.add(org.junit.jupiter.params.provider.Arguments.of(a));
                }
            }
        }
        return out.stream();
    }

    static float[] random(Random r, int n, float mean, float std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = mean + std * (float) r.nextGaussian();
        return a;
    }

    /** The values as the dtype stores them (bf16 rounds to nearest even): what a reference must be fed. */
    static float[] stored(float[] v, DType t) {
        if (t == DType.F32) return v.clone();
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = DType.bf16ToFloat(DType.floatToBf16(v[i]));
        return r;
    }

    /** Uploads src in dst's dtype (F32, or BF16 rounded to nearest even) and waits. */
    static void upload(PinnedBuffer staging, Tensor dst, float[] src, Stream s) {
        if (src.length != dst.numel()) throw new IllegalArgumentException(src.length + " values for " + dst.shape());
        if (dst.dtype() == DType.BF16) {
            for (int i = 0; i < src.length; i++) staging.setShort(i, DType.floatToBf16(src[i]));
        } else {
            staging.put(src);
        }
        staging.uploadAsync(dst, s);
        s.synchronize();
    }

    /** Waits for a copy of src (F32 or BF16) and returns it as floats. */
    static float[] download(PinnedBuffer staging, Tensor src, Stream s) {
        staging.downloadAsync(src, s);
        s.synchronize();
        int n = Math.toIntExact(src.numel());
        if (src.dtype() != DType.BF16) return staging.toFloatArray(n);
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = DType.bf16ToFloat(staging.getShort(i));
        return r;
    }

    /** All bytes 0xFF: NaN as f32 (0xFFFFFFFF) and as bf16 (0xFFFF), so an element never written reads back NaN. */
    static void poison(Device dev, Tensor t, Stream s) {
        dev.driver().memsetD8Async(t.address(), (byte) 0xFF, t.bytes(), s.handle());
    }

    static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /** ||got - ref|| / ||ref||; infinite when any element is NaN (never written). */
    static double relError(float[] got, double[] ref) { return relError(got, ref, ref); }

    /**
     * ||got - ref|| / ||scale||, infinite when any element is NaN (never written). The scale is the size float rounding
     * of the inputs alone would perturb (see LayerNormGpuTest), so the bound means the same for every input.
     */
    static double relError(float[] got, double[] ref, double[] scale) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = got[i] - ref[i];
            if (Double.isNaN(d)) return Double.POSITIVE_INFINITY;
            num += d * d;
            den += scale[i] * scale[i];
        }
        return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
    }
}
