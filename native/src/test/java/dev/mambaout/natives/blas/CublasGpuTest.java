package dev.mambaout.natives.blas;

import dev.mambaout.natives.CudaDriver;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cublasGemmEx through {@link Gemm} (the Panama binding, and whatever {@link Gemms} picks for JCuda) vs CPU loops. */
@Tag("gpu")
class CublasGpuTest {

    private static GpuTestSupport gpu;
    private final Random rnd = new Random(System.nanoTime());

    @BeforeAll
    static void setUp() { gpu = GpuTestSupport.open(); }

    @AfterAll
    static void tearDown() { if (gpu != null) gpu.close(); }

    @BeforeEach
    void current() { gpu.makeCurrent(); }

    private double run(Gemm gemm, RowMajorGemm g, CudaDataType ab, CudaDataType d, ComputeType compute) {
        boolean bf16 = ab == CudaDataType.BF16;
        float[] a = random(rnd, (int) g.aElements());
        float[] b = random(rnd, (int) g.bElements());
        if (bf16) {
            a = roundBf16(a);
            b = roundBf16(b);
        }
        long da = gpu.upload(a, bf16);
        long db = gpu.upload(b, bf16);
        long dd = gpu.alloc(g.dElements() * 4);
        boolean bf16Out = d == CudaDataType.BF16;
        gpu.poison(dd, g.dElements() * 4, bf16Out ? NAN_BF16_PAIR : NAN_F32);
        gemm.gemm(g, ab, d, compute, 1f, da, db, 0f, dd);
        double[] ref = Reference.gemm(g, a, b);
        float[] out = bf16Out ? gpu.downloadBf16(dd, ref.length) : gpu.download(dd, ref.length);
        return relativeError(out, ref);
    }

    @ParameterizedTest(name = "GemmEx {3}/{4} M={0} N={1} K={2} transA={5} transB={6}")
    @CsvSource({"37,53,29,F32,F32,false,true", "37,53,29,F32,F32,true,false", "64,80,96,BF16,BF16,false,true",
            "33,47,61,BF16,F32,false,true"})
    void gemmExMatchesCpu(int m, int n, int k, CudaDataType ab, CudaDataType d, boolean ta, boolean tb) {
        try (PanamaGemm gemm = PanamaGemm.open()) {
            gemm.setStream(0);
            double err = run(gemm, new RowMajorGemm(m, n, k, ta, tb), ab, d, ComputeType.F32);
            System.out.printf("cublasGemmEx %s->%s %dx%dx%d: rel err %.3g (%s)%n", ab, d, m, n, k, err,
                    gemm.implementation());
            assertTrue(err < (ab == CudaDataType.BF16 ? 1e-2 : 1e-5), "relative error " + err);
        }
    }

    @Test
    void tf32MathMode() {
        try (PanamaGemm gemm = PanamaGemm.open()) {
            gemm.setMathMode(MathMode.TF32_TENSOR_OP);
            double err = run(gemm, RowMajorGemm.linear(256, 320, 384), CudaDataType.F32, CudaDataType.F32,
                    ComputeType.F32_FAST_TF32);
            System.out.printf("cublasGemmEx tf32: rel err %.3g%n", err);
            assertTrue(err < 2e-3, "TF32 relative error " + err);
        }
    }

    /** On CUDA 13 machines JCublas 12.6 cannot load: the JCuda backend must still get a working GEMM. */
    @Test
    void jcudaBackendGetsAWorkingGemm() {
        try (Gemm gemm = Gemms.open(CudaDriver.Backend.JCUDA)) {
            System.out.println("JCuda backend GEMM: " + gemm.implementation());
            double err = run(gemm, RowMajorGemm.linear(40, 24, 56), CudaDataType.F32, CudaDataType.F32,
                    ComputeType.F32);
            assertTrue(err < 1e-5, "relative error " + err + " via " + gemm.implementation());
        }
    }
}
