package dev.mambaout.runtime.exec;

import dev.mambaout.natives.blas.CublasLt;
import dev.mambaout.natives.blas.CudaDataType;
import dev.mambaout.natives.blas.Epilogue;
import dev.mambaout.natives.blas.LtMatmul;
import dev.mambaout.natives.blas.LtMatmulSpec;
import dev.mambaout.natives.blas.RowMajorGemm;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.DeviceArena;
import dev.mambaout.runtime.Event;
import dev.mambaout.runtime.Stream;

import java.util.Arrays;

/**
 * The two ceilings a profile is read against, measured on this card at the start of the run rather than taken from a
 * datasheet: device-to-device copy bandwidth (bytes read + written) and the GEMM rate at the program's precision.
 *
 * @param copyGBps   a 1 GiB device-to-device copy, median of 10 after warm-up
 * @param gemmTflops an 8192^3 product in the precision's GEMM types, median of 10 after warm-up
 */
public record Roofline(double copyGBps, double gemmTflops) {

    private static final long COPY_BYTES = 1L << 30;
    private static final int GEMM_N = 8192;
    private static final int REPS = 10;

    public static Roofline measure(Device device, Precision precision) {
        device.makeCurrent();
        long gemmBytes = 3L * GEMM_N * GEMM_N * precision.storage().bytes();
        try (Stream s = device.newStream(); Event a = device.newEvent(); Event b = device.newEvent();
             DeviceArena mem = device.newArena(Math.max(2 * COPY_BYTES, gemmBytes) + LtMatmulSpec.DEFAULT_WORKSPACE + 1024);
             CublasLt lt = CublasLt.open()) {
            long base = mem.base();
            // Random-looking bits, not zeros: zeros can run faster than real data on the matrix units.
            device.driver().memsetD32Async(base, 0x3c23d70a, mem.capacity() / 4, s.handle());
            float[] copy = new float[REPS];
            for (int r = -2; r < REPS; r++) {
                a.record(s);
                device.driver().memcpyDtoDAsync(base + COPY_BYTES, base, COPY_BYTES, s.handle());
                b.record(s);
                b.synchronize();
                if (r >= 0) copy[r] = a.elapsedMsTo(b);
            }
            CudaDataType t = precision.storage() == dev.mambaout.graph.DType.BF16 ? CudaDataType.BF16 : CudaDataType.F32;
            long e = (long) GEMM_N * GEMM_N * precision.storage().bytes();
            float[] gemm = new float[REPS];
            try (LtMatmul plan = lt.plan(LtMatmulSpec.of(new RowMajorGemm(GEMM_N, GEMM_N, GEMM_N, false, true), t, t,
                    precision.compute(), Epilogue.NONE))) {
                long ws = base + ((3 * e + 255) / 256) * 256;
                for (int r = -2; r < REPS; r++) {
                    a.record(s);
                    plan.run(1f, base, base + e, 0f, 0, base + 2 * e, 0, ws, s.handle());
                    b.record(s);
                    b.synchronize();
                    if (r >= 0) gemm[r] = a.elapsedMsTo(b);
                }
            }
            return new Roofline(2.0 * COPY_BYTES / (median(copy) * 1e6), 2.0 * GEMM_N * GEMM_N * GEMM_N / (median(gemm) * 1e9));
        }
    }

    private static double median(float[] v) {
        float[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
