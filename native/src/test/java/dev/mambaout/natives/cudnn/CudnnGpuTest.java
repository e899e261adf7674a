package dev.mambaout.natives.cudnn;

import dev.mambaout.natives.blas.GpuTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * cuDNN's depthwise 7x7 convolution (MambaOut's token mixer) forward, backward-data and backward-filter against
 * plain CPU loops, in NHWC and NCHW. Float runs use CUDNN_FMA_MATH so no TF32 sneaks in.
 */
@Tag("gpu")
class CudnnGpuTest {

    private static final int K = 7, PAD = 3;
    private static GpuTestSupport gpu;
    private static Cudnn cudnn;
    private final Random rnd = new Random(System.nanoTime());

    @BeforeAll
    static void setUp() {
        gpu = GpuTestSupport.open();
        cudnn = Cudnn.open();
        cudnn.setStream(0);
        System.out.println("cuDNN " + Cudnn.version() + " from " + Cudnn.libraryPath());
    }

    @AfterAll
    static void tearDown() {
        if (cudnn != null) cudnn.close();
        if (gpu != null) gpu.close();
    }

    @Test
    void versionIsNine() {
        long v = Cudnn.version();
        assertTrue(v >= 90000 && v < 100000, "cudnnGetVersion " + v);
    }

    private static int idx(TensorFormat f, int n, int c, int h, int w, int C, int H, int W) {
        return f == TensorFormat.NHWC ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
    }


    private float[] down(long p, int n, boolean bf16) { return bf16 ? gpu.downloadBf16(p, n) : gpu.download(p, n); }

    @ParameterizedTest(name = "depthwise 7x7 {0} {1}")
    @CsvSource({"NHWC,FLOAT,FMA", "NCHW,FLOAT,FMA", "NHWC,BFLOAT16,DEFAULT"})
    void depthwiseMatchesCpuLoops(TensorFormat f, CudnnDataType type, CudnnMathType math) {
        int N = 2, C = 24, H = 13, W = 11;
        boolean bf16 = type == CudnnDataType.BFLOAT16;
        double tol = bf16 ? 1e-2 : 1e-5;
        int pattern = bf16 ? NAN_BF16_PAIR : NAN_F32;
        float[] x = random(rnd, N * C * H * W);
        float[] w = random(rnd, C * K * K);        // [C, 1, 7, 7]: one memory order in both formats
        float[] dy = random(rnd, N * C * H * W);
        if (bf16) {
            x = roundBf16(x);
            w = roundBf16(w);
            dy = roundBf16(dy);
        }
        double[] y = new double[x.length], dx = new double[x.length], dw = new double[w.length];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                for (int h = 0; h < H; h++) {
                    for (int v = 0; v < W; v++) {
                        for (int r = 0; r < K; r++) {
                            for (int s = 0; s < K; s++) {
                                int ih = h - PAD + r, iw = v - PAD + s;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                double wv = w[c * K * K + r * K + s];
                                double dyv = dy[idx(f, n, c, h, v, C, H, W)];
                                y[idx(f, n, c, h, v, C, H, W)] += x[idx(f, n, c, ih, iw, C, H, W)] * wv;
                                dx[idx(f, n, c, ih, iw, C, H, W)] += dyv * wv;
                                dw[c * K * K + r * K + s] += dyv * x[idx(f, n, c, ih, iw, C, H, W)];
                            }
                        }
                    }
                }
            }
        }
        try (ConvPlan plan = cudnn.plan(ConvSpec.depthwise(N, C, H, W, K, f, type, math))) {
            assertArrayEquals(new int[] {N, C, H, W}, plan.outputShape());
            System.out.println("cuDNN depthwise " + f + " " + type + ": fwd " + plan.forwardChoice() + ", bwd data "
                    + plan.backwardDataChoice() + ", bwd filter " + plan.backwardFilterChoice());
            long ws = plan.workspaceBytes() > 0 ? gpu.alloc(plan.workspaceBytes()) : 0;
            long dX = gpu.upload(x, bf16), dW = gpu.upload(w, bf16), dDy = gpu.upload(dy, bf16);
            long bytes = (long) x.length * 4;
            long dY = gpu.alloc(bytes), dDx = gpu.alloc(bytes), dDw = gpu.alloc((long) w.length * 4);
            gpu.poison(dY, bytes, pattern);
            gpu.poison(dDx, bytes, pattern);
            gpu.poison(dDw, (long) w.length * 4, pattern);

            plan.forward(1f, dX, dW, 0f, dY, ws);
            plan.backwardData(1f, dW, dDy, 0f, dDx, ws);
            plan.backwardFilter(1f, dX, dDy, 0f, dDw, ws);

            double eY = relativeError(down(dY, y.length, bf16), y);
            double eDx = relativeError(down(dDx, dx.length, bf16), dx);
            double eDw = relativeError(down(dDw, dw.length, bf16), dw);
            System.out.printf("cuDNN depthwise %s %s: rel err fwd %.3g, bwd data %.3g, bwd filter %.3g%n", f, type,
                    eY, eDx, eDw);
            assertTrue(eY < tol, "forward relative error " + eY);
            assertTrue(eDx < tol, "backward-data relative error " + eDx);
            assertTrue(eDw < tol, "backward-filter relative error " + eDw);
        }
    }
}
