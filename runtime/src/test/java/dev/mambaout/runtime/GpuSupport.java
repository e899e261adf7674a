package dev.mambaout.runtime;

import dev.mambaout.kernels.Kernels;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;

import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Shared by the GPU tests: skip with the reason when there is no GPU or no compiled kernels; small helpers. */
final class GpuSupport {
    /** A quiet NaN bit pattern: any element a kernel fails to write reads back as NaN. */
    static final int POISON = 0x7fc00000;

    private GpuSupport() {}

    static Device open(CudaDriver.Backend backend) {
        Cuda.Availability a = Cuda.availability(backend);
        assumeTrue(a.available(), a.reason());
        Kernels.BuildInfo k = Kernels.buildInfo();
        assumeTrue(k.built(), "kernels: " + k.reason());
        return Device.open(Cuda.open(backend), 0);
    }

    static float[] random(Random r, int n, float mean, float std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = mean + std * (float) r.nextGaussian();
        return a;
    }

    static void upload(Device dev, PinnedBuffer staging, Tensor dst, float[] src, Stream s) {
        staging.put(src);
        staging.uploadAsync(dst, s);
        s.synchronize();
    }

    static float[] download(PinnedBuffer staging, Tensor src, Stream s) {
        staging.downloadAsync(src, s);
        s.synchronize();
        return staging.toFloatArray(Math.toIntExact(src.numel()));
    }

    static void poison(Device dev, Tensor t, Stream s) {
        dev.driver().memsetD32Async(t.address(), POISON, t.numel(), s.handle());
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
