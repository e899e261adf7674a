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
 * Autotuned cuBLASLt plans: the kept algorithm computes the same product as a CPU loop in double (output poisoned
 * with NaN first, run eagerly and again from a CUDA graph), the kept candidate's median is no slower than the
 * heuristics' first choice (a property of the selection, with 5% for the samples' own noise: the choice and the
 * comparison use the same samples), the plan runs the algorithm it reports, and an untuned plan runs candidate 0.
 */
@Tag("gpu")
class LtAutotuneGpuTest {

    private static GpuTestSupport gpu;
    private static CublasLt lt;
    private static long workspace;
    private static long stream;
    private final Random rnd = new Random(System.nanoTime());

    @BeforeAll
    static void setUp() {
        gpu = GpuTestSupport.open();
        lt = CublasLt.open();
        workspace = gpu.alloc(LtMatmulSpec.DEFAULT_WORKSPACE);
        stream = gpu.driver.streamCreate(true);
        System.out.println("cuBLASLt " + CublasLt.version() + " from " + CublasLt.libraryPath());
    }

    @AfterAll
    static void tearDown() {
        if (stream != 0) gpu.driver.streamDestroy(stream);
        if (lt != null) lt.close();
        if (gpu != null) gpu.close();
    }

    @BeforeEach
    void current() { gpu.makeCurrent(); }

    @ParameterizedTest(name = "{4} {3} M={0} N={1} K={2}")
    @CsvSource({"333,251,197,BF16,NONE", "1024,1024,1024,BF16,NONE", "1,7,3,BF16,NONE", "70,96,80,F32,GELU_BIAS",
            "129,67,45,BF16,BIAS"})
    void autotunedPlanMatchesCpuAndIsNoSlowerThanTheFirstCandidate(int m, int n, int k, CudaDataType type,
                                                                    Epilogue epilogue) {
        RowMajorGemm g = RowMajorGemm.linear(m, k, n);
        var spec = LtMatmulSpec.of(g, type, type, ComputeType.F32, epilogue);
        boolean bf16 = type == CudaDataType.BF16;
        float[] x = random(rnd, (int) g.aElements());
        float[] w = random(rnd, (int) g.bElements());
        float[] bias = random(rnd, n);
        if (bf16) {
            x = roundBf16(x);
            w = roundBf16(w);
            bias = roundBf16(bias);
        }
        long dx = gpu.upload(x, bf16);
        long dw = gpu.upload(w, bf16);
        long dbias = epilogue.readsBias() ? gpu.upload(bias, bf16) : 0;
        long dy = gpu.alloc(g.dElements() * 4);
        long bytes = g.dElements() * 4;
        int poison = bf16 ? NAN_BF16_PAIR : NAN_F32;
        double[] ref = Reference.gemm(g, x, w);
        for (int t = 0; t < m; t++) {
            for (int f = 0; f < n; f++) {
                double v = ref[t * n + f] + (epilogue.readsBias() ? bias[f] : 0);
                ref[t * n + f] = epilogue == Epilogue.GELU_BIAS ? Reference.geluTanh(v) : v;
            }
        }
        double tol = bf16 ? 1e-2 : 1e-5;

        var operands = new LtOperands(1f, dx, dw, 0f, 0, dy, dbias, workspace, LtMatmulSpec.DEFAULT_WORKSPACE, stream);
        try (LtMatmul tuned = lt.plan(spec, LtAutotune.of(gpu.driver, operands));
             LtMatmul untuned = lt.plan(spec)) {
            LtTuning tuning = tuned.tuning().orElseThrow();
            assertTrue(untuned.tuning().isEmpty());
            System.out.printf("autotune %s %s %s: %d candidate(s), chose rank %d, %.3fx the first%n%s", epilogue,
                    type, g, tuning.candidates().size(), tuning.best().rank(), tuning.speedupOverFirst(),
                    tuning.table());
            assertTrue(tuning.best().medianMs() <= tuning.firstTimed().medianMs() * 1.05,
                    "chosen " + tuning.best() + " vs first " + tuning.firstTimed());
            assertEquals(tuning.best().algo(), tuned.algo(), "the plan runs the algorithm it chose");
            assertEquals(tuning.best().workspaceBytes(), tuned.workspaceBytes());
            if (tuning.candidates().getFirst() instanceof LtCandidate.Timed first) {
                assertEquals(first.algo(), untuned.algo(), "untuned plan = the heuristics' first candidate");
            }

            gpu.poison(dy, bytes, poison);
            tuned.run(1f, dx, dw, 0f, 0, dy, dbias, workspace, stream);
            gpu.driver.streamSynchronize(stream);
            float[] y = bf16 ? gpu.downloadBf16(dy, ref.length) : gpu.download(dy, ref.length);
            double err = relativeError(y, ref);
            System.out.printf("autotune %s %s %s: eager rel err %.3g%n", epilogue, type, g, err);
            assertTrue(err < tol, "autotuned eager relative error " + err);

            gpu.poison(dy, bytes, poison);
            gpu.driver.streamBeginCapture(stream);
            long graph;
            try {
                tuned.run(1f, dx, dw, 0f, 0, dy, dbias, workspace, stream);
            } finally {
                graph = gpu.driver.streamEndCapture(stream);
            }
            long exec = gpu.driver.graphInstantiate(graph);
            try {
                gpu.driver.graphLaunch(exec, stream);
                gpu.driver.streamSynchronize(stream);
            } finally {
                gpu.driver.graphExecDestroy(exec);
                gpu.driver.graphDestroy(graph);
            }
            y = bf16 ? gpu.downloadBf16(dy, ref.length) : gpu.download(dy, ref.length);
            double errGraph = relativeError(y, ref);
            assertTrue(errGraph < tol, "autotuned plan replayed from a graph: relative error " + errGraph);
        }
    }

    @Test
    void candidatesNeedingMoreWorkspaceThanGivenAreRejectedWithTheReason() {
        RowMajorGemm g = RowMajorGemm.linear(512, 512, 512);
        var spec = LtMatmulSpec.of(g, CudaDataType.BF16, CudaDataType.BF16, ComputeType.F32, Epilogue.NONE);
        long dx = gpu.alloc(g.aElements() * 2), dw = gpu.alloc(g.bElements() * 2), dy = gpu.alloc(g.dElements() * 2);
        var operands = new LtOperands(1f, dx, dw, 0f, 0, dy, 0, 0, 0, stream);
        try (LtMatmul plan = lt.plan(spec, LtAutotune.of(gpu.driver, operands))) {
            LtTuning t = plan.tuning().orElseThrow();
            System.out.print("autotune without workspace:\n" + t.table());
            assertEquals(0, plan.workspaceBytes());
            for (LtCandidate c : t.candidates()) {
                if (c.workspaceBytes() > 0) {
                    assertTrue(c instanceof LtCandidate.Rejected r && r.reason().contains("workspace"), c.toString());
                }
            }
        } catch (IllegalStateException e) {
            // Legitimate only if every candidate needed workspace: then the message says so for each.
            assertTrue(e.getMessage().contains("workspace"), e.getMessage());
        }
    }
}
