package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The project's own fatbin, loaded and launched through each driver backend, against plain CPU loops. */
@Tag("gpu")
class SmokeKernelGpuTest {

    @ParameterizedTest
    @EnumSource(Backend.class)
    void axpyAndFillGiveTheCpuLoopsResults(Backend backend) {
        Random r = new Random(backend.ordinal() * 31L + System.nanoTime());
        int n = 100_003 + r.nextInt(1000);   // odd, not a multiple of the block
        float a = (float) r.nextGaussian();
        float[] x = GpuSupport.random(r, n, 0, 1), y = GpuSupport.random(r, n, 0, 1);
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(4L * n * 3 + 4096); PinnedBuffer host = dev.newPinned(4L * (n + 1))) {
            assertTrue(dev.info().smCount() > 0 && dev.info().l2CacheBytes() > 0, dev.info().toString());
            Tensor tx = arena.allocate(DType.F32, Shape.of(n)), ty = arena.allocate(DType.F32, Shape.of(n));
            Tensor tf = arena.allocate(DType.F32, Shape.of(n + 1));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, ty, y, s);
            GpuSupport.poison(dev, tf, s);
            int grid = (n + 255) / 256;
            try (Launch axpy = dev.modules().prepare(KernelCatalog.SMOKE_AXPY, Dim3.of(grid), Dim3.of(256), 0,
                         ty.arg(), tx.arg(), KernelArg.f32(a), KernelArg.i32(n));
                 Launch fill = dev.modules().prepare(KernelCatalog.SMOKE_FILL, Dim3.of(grid), Dim3.of(256), 0,
                         tf.arg(), KernelArg.f32(1.25f), KernelArg.i32(n))) {
                axpy.launch(s);
                fill.launch(s);
                float[] gotY = GpuSupport.download(host, ty, s);
                for (int i = 0; i < n; i++) {
                    assertEquals(Math.fma(a, x[i], y[i]), gotY[i], 0f, "axpy element " + i);
                }
                float[] gotF = GpuSupport.download(host, tf, s);
                for (int i = 0; i < n; i++) assertEquals(1.25f, gotF[i], 0f, "fill element " + i);
                assertTrue(Float.isNaN(gotF[n]), "fill wrote past n");
            }
        }
    }
}
