package dev.mambaout.natives.blas;

import dev.mambaout.natives.CudaDriver;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rough throughput of planned cuBLASLt GEMMs (CUDA events, warm-up, median of 20), printed for the notes; the
 * assertions only check that every output element was written (the output is poisoned with NaN first).
 */
@Tag("gpu")
class LtMatmulTimingGpuTest {

    @ParameterizedTest(name = "{0}x{1}x{2} {3} {4}")
    @CsvSource({"8192,8192,8192,BF16,NONE", "50176,768,192,BF16,GELU_BIAS", "50176,192,768,BF16,BIAS",
            "8192,8192,8192,F32,NONE"})
    void throughput(int m, int n, int k, CudaDataType type, Epilogue epilogue) {
        try (GpuTestSupport gpu = GpuTestSupport.open(); CublasLt lt = CublasLt.open()) {
            CudaDriver d = gpu.driver;
            RowMajorGemm g = RowMajorGemm.linear(m, k, n);
            ComputeType compute = type == CudaDataType.F32 ? ComputeType.F32_FAST_TF32 : ComputeType.F32;
            Random rnd = new Random(System.nanoTime());
            float[] a = GpuTestSupport.random(rnd, (int) g.aElements());
            float[] b = GpuTestSupport.random(rnd, (int) g.bElements());
            float[] bias = GpuTestSupport.random(rnd, n);
            boolean bf16 = type == CudaDataType.BF16;
            long da = bf16 ? gpu.uploadBf16(a) : gpu.upload(a);
            long db = bf16 ? gpu.uploadBf16(b) : gpu.upload(b);
            long dbias = bf16 ? gpu.uploadBf16(bias) : gpu.upload(bias);
            long bytes = g.dElements() * type.bytes();
            long dd = gpu.alloc(bytes);
            gpu.poison(dd, bytes, bf16 ? GpuTestSupport.NAN_BF16_PAIR : GpuTestSupport.NAN_F32);
            long ws = gpu.alloc(LtMatmulSpec.DEFAULT_WORKSPACE);
            try (LtMatmul plan = lt.plan(LtMatmulSpec.of(g, type, type, compute, epilogue))) {
                long bp = epilogue.readsBias() ? dbias : 0;
                for (int i = 0; i < 5; i++) plan.run(1f, da, db, 0f, 0, dd, bp, ws, 0);
                long start = d.eventCreate(true), end = d.eventCreate(true);
                float[] ms = new float[20];
                for (int i = 0; i < ms.length; i++) {
                    d.eventRecord(start, 0);
                    plan.run(1f, da, db, 0f, 0, dd, bp, ws, 0);
                    d.eventRecord(end, 0);
                    d.eventSynchronize(end);
                    ms[i] = d.eventElapsedMs(start, end);
                }
                d.eventDestroy(start);
                d.eventDestroy(end);
                Arrays.sort(ms);
                double median = ms[ms.length / 2];
                double tflops = 2.0 * m * n * k / (median * 1e-3) / 1e12;
                System.out.printf("cuBLASLt timing %dx%dx%d %s %s: median %.3f ms, %.1f TFLOP/s (workspace %d B)%n",
                        m, n, k, type, epilogue, median, tflops, plan.workspaceBytes());
                float[] out = bf16 ? gpu.downloadBf16(dd, (int) Math.min(g.dElements(), 1 << 20))
                        : gpu.download(dd, (int) Math.min(g.dElements(), 1 << 20));
                for (float v : out) assertTrue(Float.isFinite(v), "unwritten or non-finite output " + v);
                assertTrue(median > 0, "median " + median);
            }
        }
    }
}
