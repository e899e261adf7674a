package dev.mambaout.natives.blas;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.mambaout.natives.blas.GpuTestSupport.NAN_BF16_PAIR;
import static dev.mambaout.natives.blas.GpuTestSupport.NAN_F32;
import static dev.mambaout.natives.blas.GpuTestSupport.random;
import static dev.mambaout.natives.blas.GpuTestSupport.relativeError;
import static dev.mambaout.natives.blas.GpuTestSupport.roundBf16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * cuBLASLt plans against CPU loops in double: f32 (all transposes, odd sizes), TF32, bf16, the bias and GELU
 * epilogues (GELU in its tanh form, which is what cuBLASLt computes) and BGRADB against a CPU sum. Outputs are
 * poisoned with NaN before each run; inputs are fresh random numbers in [-1, 1).
 */
@Tag("gpu")
class CublasLtGpuTest {

    private static GpuTestSupport gpu;
    private static CublasLt lt;
    private static long workspace;
    private final Random rnd = new Random(System.nanoTime());

    @BeforeAll
    static void setUp() {
        gpu = GpuTestSupport.open();
        lt = CublasLt.open();
        workspace = gpu.alloc(LtMatmulSpec.DEFAULT_WORKSPACE);
        System.out.println("cuBLASLt " + CublasLt.version() + " from " + CublasLt.libraryPath());
    }

    @AfterAll
    static void tearDown() {
        if (lt != null) lt.close();
        if (gpu != null) gpu.close();
    }

    @BeforeEach
    void current() { gpu.makeCurrent(); }

    /** Runs one plan on fresh inputs and returns the relative error of D. */
    private double check(LtMatmulSpec spec, float alpha, float beta) {
        RowMajorGemm g = spec.shape();
        boolean bf16 = spec.abType() == CudaDataType.BF16;
        float[] a = random(rnd, (int) g.aElements());
        float[] b = random(rnd, (int) g.bElements());
        float[] c = random(rnd, (int) g.dElements());
        if (bf16) {
            a = roundBf16(a);
            b = roundBf16(b);
        }
        boolean bf16Out = spec.dType() == CudaDataType.BF16;
        if (bf16Out) c = roundBf16(c);
        long da = gpu.upload(a, bf16);
        long db = gpu.upload(b, bf16);
        long dc = gpu.upload(c, bf16Out);
        long dd = gpu.alloc(g.dElements() * 4);
        gpu.poison(dd, g.dElements() * 4, bf16Out ? NAN_BF16_PAIR : NAN_F32);
        double[] ref = Reference.gemm(g, a, b);
        for (int i = 0; i < ref.length; i++) ref[i] = alpha * ref[i] + beta * c[i];
        try (LtMatmul plan = lt.plan(spec)) {
            plan.run(alpha, da, db, beta, beta == 0 ? 0 : dc, dd, 0, workspace, 0);
        }
        float[] out = bf16Out ? gpu.downloadBf16(dd, ref.length) : gpu.download(dd, ref.length);
        return relativeError(out, ref);
    }

    @ParameterizedTest(name = "f32 M={0} N={1} K={2} transA={3} transB={4}")
    @CsvSource({"37,53,29,false,true", "37,53,29,false,false", "37,53,29,true,false", "37,53,29,true,true",
            "1,7,3,false,true", "128,96,64,false,true"})
    void f32MatchesCpu(int m, int n, int k, boolean ta, boolean tb) {
        var spec = LtMatmulSpec.of(new RowMajorGemm(m, n, k, ta, tb), CudaDataType.F32, CudaDataType.F32,
                ComputeType.F32, Epilogue.NONE);
        double err = check(spec, 1f, 0f);
        System.out.printf("cuBLASLt f32 %s: rel err %.3g%n", spec.shape(), err);
        assertTrue(err < 1e-5, "f32 relative error " + err);
    }

    @Test
    void f32AlphaBetaUsesC() {
        var spec = LtMatmulSpec.of(RowMajorGemm.linear(45, 31, 27), CudaDataType.F32, CudaDataType.F32,
                ComputeType.F32, Epilogue.NONE);
        double err = check(spec, 0.5f, 2f);
        assertTrue(err < 1e-5, "f32 alpha/beta relative error " + err);
    }

    @ParameterizedTest(name = "tf32 M={0} N={1} K={2}")
    @CsvSource({"256,384,320", "37,53,29"})
    void tf32MatchesCpu(int m, int n, int k) {
        var spec = LtMatmulSpec.of(RowMajorGemm.linear(m, k, n), CudaDataType.F32, CudaDataType.F32,
                ComputeType.F32_FAST_TF32, Epilogue.NONE);
        double err = check(spec, 1f, 0f);
        System.out.printf("cuBLASLt tf32 %s: rel err %.3g%n", spec.shape(), err);
        assertTrue(err < 2e-3, "TF32 relative error " + err);
    }

    @ParameterizedTest(name = "bf16 -> {3} M={0} N={1} K={2}")
    @CsvSource({"128,192,256,BF16", "128,192,256,F32", "33,47,61,BF16", "33,47,61,F32"})
    void bf16MatchesCpu(int m, int n, int k, CudaDataType out) {
        var spec = LtMatmulSpec.of(RowMajorGemm.linear(m, k, n), CudaDataType.BF16, out, ComputeType.F32,
                Epilogue.NONE);
        double err = check(spec, 1f, 0f);
        System.out.printf("cuBLASLt bf16->%s %s: rel err %.3g%n", out, spec.shape(), err);
        assertTrue(err < 1e-2, "bf16 relative error " + err);
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource({"BIAS,F32,F32", "GELU_BIAS,F32,F32", "GELU,F32,F32", "GELU_BIAS,BF16,BF16"})
    void biasAndGeluEpilogues(Epilogue epilogue, CudaDataType in, CudaDataType out) {
        int tokens = 70, features = 96, channels = 80;
        RowMajorGemm g = RowMajorGemm.linear(tokens, channels, features);
        var spec = LtMatmulSpec.of(g, in, out, ComputeType.F32, epilogue);
        boolean bf16 = in == CudaDataType.BF16;
        double tol = bf16 ? 1e-2 : 1e-5;
        try (LtMatmul plan = lt.plan(spec)) {
            for (int round = 0; round < 2; round++) {   // twice: the second run moves the bias pointer
                float[] x = random(rnd, (int) g.aElements());
                float[] w = random(rnd, (int) g.bElements());
                float[] bias = random(rnd, features);
                if (bf16) {
                    x = roundBf16(x);
                    w = roundBf16(w);
                    bias = roundBf16(bias);
                }
                long dx = gpu.upload(x, bf16);
                long dw = gpu.upload(w, bf16);
                long dbias = epilogue.readsBias() ? gpu.upload(bias, bf16) : 0;
                long dy = gpu.alloc(g.dElements() * 4);
                gpu.poison(dy, g.dElements() * 4, bf16 ? NAN_BF16_PAIR : NAN_F32);
                plan.run(1f, dx, dw, 0f, 0, dy, dbias, workspace, 0);
                double[] ref = Reference.gemm(g, x, w);
                for (int t = 0; t < tokens; t++) {
                    for (int f = 0; f < features; f++) {
                        double v = ref[t * features + f] + (epilogue.readsBias() ? bias[f] : 0);
                        ref[t * features + f] = epilogue == Epilogue.BIAS ? v : Reference.geluTanh(v);
                    }
                }
                float[] y = bf16 ? gpu.downloadBf16(dy, ref.length) : gpu.download(dy, ref.length);
                double err = relativeError(y, ref);
                System.out.printf("cuBLASLt %s %s round %d: rel err %.3g%n", epilogue, in, round, err);
                assertTrue(err < tol, epilogue + " relative error " + err + " (round " + round + ")");
            }
        }
    }

    @ParameterizedTest(name = "BGRADB {0}")
    @CsvSource({"BF16", "F32"})
    void bgradbIsTheColumnSumOfDy(CudaDataType type) {
        int tokens = 64, out = 48, in = 40;
        // dW[out,in] = dY^T[out,tokens] X[tokens,in]; bias gradient db[out] = sum over tokens of dY.
        RowMajorGemm g = new RowMajorGemm(out, in, tokens, true, false);
        var spec = LtMatmulSpec.of(g, type, type, ComputeType.F32, Epilogue.BGRADB);
        assertEquals(out, Epilogue.BGRADB.biasLength(g));
        boolean bf16 = type == CudaDataType.BF16;
        float[] dy = random(rnd, tokens * out);
        float[] x = random(rnd, tokens * in);
        if (bf16) {
            dy = roundBf16(dy);
            x = roundBf16(x);
        }
        long ddy = gpu.upload(dy, bf16);
        long dx = gpu.upload(x, bf16);
        long ddw = gpu.alloc((long) out * in * 4);
        long ddb = gpu.alloc(out * 4L);
        gpu.poison(ddw, (long) out * in * 4, bf16 ? NAN_BF16_PAIR : NAN_F32);
        gpu.poison(ddb, out * 4L, bf16 ? NAN_BF16_PAIR : NAN_F32);
        try (LtMatmul plan = lt.plan(spec)) {
            plan.run(1f, ddy, dx, 0f, 0, ddw, ddb, workspace, 0);
        }
        double[] refW = Reference.gemm(g, dy, x);
        double[] refB = new double[out];
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) refB[o] += dy[t * out + o];
        }
        float[] w = bf16 ? gpu.downloadBf16(ddw, out * in) : gpu.download(ddw, out * in);
        float[] b = bf16 ? gpu.downloadBf16(ddb, out) : gpu.download(ddb, out);
        double tol = bf16 ? 1e-2 : 1e-5;
        double errW = relativeError(w, refW), errB = relativeError(b, refB);
        System.out.printf("cuBLASLt BGRADB %s: dW rel err %.3g, db rel err %.3g%n", type, errW, errB);
        assertTrue(errW < tol, "BGRADB dW relative error " + errW);
        assertTrue(errB < tol, "BGRADB bias gradient relative error " + errB);
    }

    @Test
    void misalignedPointerIsRefusedBeforeTheCall() {
        var spec = LtMatmulSpec.of(RowMajorGemm.linear(8, 8, 8), CudaDataType.F32, CudaDataType.F32,
                ComputeType.F32, Epilogue.NONE);
        long p = gpu.alloc(1024);
        try (LtMatmul plan = lt.plan(spec)) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> plan.run(1f, p + 4, p, 0f, 0, p + 512, 0, workspace, 0));
            assertTrue(e.getMessage().contains("not aligned"), e.getMessage());
        }
    }
}
