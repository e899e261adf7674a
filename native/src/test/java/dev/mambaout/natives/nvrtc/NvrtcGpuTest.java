package dev.mambaout.natives.nvrtc;

import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.ParamBlock;
import dev.mambaout.natives.ParamKind;
import dev.mambaout.natives.blas.GpuTestSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NVRTC compiles a kernel that the project's driver loads and launches; a broken source reports NVRTC's log. */
@Tag("gpu")
class NvrtcGpuTest {

    private static final String AXPY = """
            extern "C" __global__ void axpy(const float* x, float* y, float a, int n) {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i < n) y[i] = a * x[i] + y[i];
            }
            """;

    @Test
    void compiledKernelRunsThroughTheDriver() {
        try (GpuTestSupport gpu = GpuTestSupport.open()) {
            CudaDriver d = gpu.driver;
            Nvrtc.Version v = Nvrtc.version();
            System.out.println("NVRTC " + v + " from " + Nvrtc.libraryPath());
            assertTrue(v.major() >= 12, "NVRTC " + v);
            int cc = d.deviceAttribute(0, CudaDriver.DeviceAttribute.COMPUTE_CAPABILITY_MAJOR) * 10
                    + d.deviceAttribute(0, CudaDriver.DeviceAttribute.COMPUTE_CAPABILITY_MINOR);
            Ptx ptx = Nvrtc.compile(AXPY, "axpy.cu", List.of("--gpu-architecture=compute_" + cc));
            assertTrue(ptx.text().contains(".entry axpy"), ptx.text());
            assertEquals(0, ptx.image()[ptx.image().length - 1]);

            Random rnd = new Random(System.nanoTime());
            int n = 1001 + rnd.nextInt(3000);
            float a = rnd.nextFloat() * 4 - 2;
            float[] x = GpuTestSupport.random(rnd, n);
            float[] y = GpuTestSupport.random(rnd, n);
            long dx = gpu.upload(x);
            long dy = gpu.upload(y);
            long module = d.moduleLoadData(ptx.image());
            try (ParamBlock p = d.newParamBlock(List.of(ParamKind.PTR, ParamKind.PTR, ParamKind.F32, ParamKind.I32))) {
                long fn = d.moduleGetFunction(module, "axpy");
                p.setPtr(0, dx);
                p.setPtr(1, dy);
                p.setF32(2, a);
                p.setI32(3, n);
                d.launchKernel(fn, (n + 255) / 256, 1, 1, 256, 1, 1, 0, 0, p);
                float[] out = gpu.download(dy, n);
                double[] ref = new double[n];
                for (int i = 0; i < n; i++) ref[i] = (double) a * x[i] + y[i];
                double err = GpuTestSupport.relativeError(out, ref);
                System.out.printf("NVRTC axpy n=%d: rel err %.3g%n", n, err);
                assertTrue(err < 1e-6, "relative error " + err);
            } finally {
                d.moduleUnload(module);
            }
        }
    }

    @Test
    void brokenSourceThrowsWithTheCompilerLog() {
        try (GpuTestSupport gpu = GpuTestSupport.open()) {
            var e = assertThrows(NvrtcCompileException.class, () -> Nvrtc.compile(
                    "extern \"C\" __global__ void k(float* p) { p[0] = undefined_name; }", "broken.cu", List.of()));
            System.out.println("NVRTC error as reported: " + e.getMessage());
            assertTrue(e.log().contains("undefined_name"), e.log());
            assertTrue(e.getMessage().contains("NVRTC_ERROR_COMPILATION") && e.getMessage().contains("broken.cu"),
                    e.getMessage());
        }
    }
}
