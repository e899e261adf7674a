package dev.mambaout.natives;

import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The handles either backend returns are the driver's own values: a stream made by JCuda and memory allocated by
 * Panama work in the other backend. This is what lets the Panama cuBLAS/cuDNN bindings run under the JCuda driver.
 */
@Tag("gpu")
class BackendInteropGpuTest {

    @Test
    void streamsAndPointersCrossBackends() {
        for (Backend b : Backend.values()) {
            Cuda.Availability a = Cuda.availability(b);
            assumeTrue(a.available(), a.reason());
        }
        CudaDriver panama = Cuda.open(Backend.PANAMA);
        CudaDriver jcuda = Cuda.open(Backend.JCUDA);
        long ctx = panama.primaryContextRetain(0);
        assertEquals(ctx, jcuda.primaryContextRetain(0), "one primary context, one handle value");
        jcuda.contextSetCurrent(ctx);
        int n = 4099;
        long jStream = jcuda.streamCreate(true);
        long pDev = panama.memAlloc(4L * n);
        long jDev = jcuda.memAlloc(4L * n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(ValueLayout.JAVA_INT, n);
            MemorySegment dst = arena.allocate(ValueLayout.JAVA_INT, n);
            for (int i = 0; i < n; i++) {
                src.setAtIndex(ValueLayout.JAVA_INT, i, i * 31 + 7);
                dst.setAtIndex(ValueLayout.JAVA_INT, i, -1);
            }
            jcuda.memcpyHtoD(pDev, src, 4L * n);                          // Panama's pointer in JCuda
            panama.memcpyDtoDAsync(jDev, pDev, 4L * n, jStream);         // JCuda's stream and pointer in Panama
            panama.streamSynchronize(jStream);
            jcuda.memcpyDtoH(dst, jDev, 4L * n);
            assertEquals(-1L, src.mismatch(dst));
        } finally {
            panama.memFree(jDev);
            jcuda.memFree(pDev);
            jcuda.streamDestroy(jStream);
            panama.primaryContextRelease(0);
            jcuda.primaryContextRelease(0);
        }
    }
}
