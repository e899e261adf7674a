package dev.mambaout.runtime;

import dev.mambaout.graph.DType;

/** F32 or BF16 host <-> device copies for the kernel tests, and a NaN poison valid for both storage types. */
final class KernelTestIo {

    private KernelTestIo() {}

    /** The values as the dtype stores them (bf16 rounds to nearest even); what a reference must be fed. */
    static float[] stored(float[] v, DType t) {
        if (t == DType.F32) return v.clone();
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = DType.bf16ToFloat(DType.floatToBf16(v[i]));
        return r;
    }

    /** Uploads v in dst's dtype (F32 or BF16); waits. */
    static void upload(PinnedBuffer staging, Tensor dst, float[] v, Stream s) {
        if (v.length != dst.numel()) throw new IllegalArgumentException(v.length + " values for " + dst.shape());
        if (dst.dtype() == DType.F32) {
            staging.put(v);
        } else {
            for (int i = 0; i < v.length; i++) staging.setShort(i, DType.floatToBf16(v[i]));
        }
        staging.uploadAsync(dst, s);
        s.synchronize();
    }

    static float[] download(PinnedBuffer staging, Tensor src, Stream s) {
        staging.downloadAsync(src, s);
        s.synchronize();
        int n = Math.toIntExact(src.numel());
        if (src.dtype() == DType.F32) return staging.toFloatArray(n);
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = DType.bf16ToFloat(staging.getShort(i));
        return r;
    }

    /** All bytes 0xFF: a NaN in f32 (0xFFFFFFFF) and in bf16 (0xFFFF), so an element never written reads back NaN. */
    static void poison(Device dev, Tensor t, Stream s) {
        dev.driver().memsetD8Async(t.address(), (byte) 0xFF, t.bytes(), s.handle());
    }

    static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
