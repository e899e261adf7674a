package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CUDA graph capture/replay, event timing, and a refused allocation that leaves the device usable. */
@Tag("gpu")
class GraphEventOomGpuTest {

    @ParameterizedTest
    @EnumSource(Backend.class)
    void capturedLaunchesReplayedNTimesGiveTheSequentialResult(Backend backend) {
        Random r = new Random(System.nanoTime());
        int n = 4099 + r.nextInt(100);
        float[] x = GpuSupport.random(r, n, 0, 1), y = GpuSupport.random(r, n, 0, 1);
        float[] a = {0.5f, -1.25f, (float) r.nextGaussian()};
        int replays = 7;
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             DeviceArena arena = dev.newArena(1 << 20); PinnedBuffer host = dev.newPinned(4L * n)) {
            Tensor tx = arena.allocate(DType.F32, Shape.of(n)), ty = arena.allocate(DType.F32, Shape.of(n));
            GpuSupport.upload(host, tx, x, s);
            GpuSupport.upload(host, ty, y, s);
            Dim3 grid = Dim3.of((n + 127) / 128), block = Dim3.of(128);
            try (Launch l0 = dev.modules().prepare(KernelCatalog.SMOKE_AXPY, grid, block, 0, ty.arg(), tx.arg(), KernelArg.f32(a[0]), KernelArg.i32(n));
                 Launch l1 = dev.modules().prepare(KernelCatalog.SMOKE_AXPY, grid, block, 0, ty.arg(), tx.arg(), KernelArg.f32(a[1]), KernelArg.i32(n));
                 Launch l2 = dev.modules().prepare(KernelCatalog.SMOKE_AXPY, grid, block, 0, ty.arg(), tx.arg(), KernelArg.f32(a[2]), KernelArg.i32(n));
                 CudaGraph graph = CudaGraph.capture(dev.driver(), s, () -> {
                     l0.launch(s);
                     l1.launch(s);
                     l2.launch(s);
                 })) {
                float[] probe = GpuSupport.download(host, ty, s);
                assertEquals(y[0], probe[0], 0f, "capture must not execute the kernels");
                for (int i = 0; i < replays; i++) graph.replay(s);
                float[] got = GpuSupport.download(host, ty, s);
                for (int i = 0; i < n; i++) {
                    float v = y[i];
                    for (int k = 0; k < replays; k++) for (float ak : a) v = Math.fma(ak, x[i], v);
                    assertEquals(v, got[i], 0f, "element " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void eventsTimeGpuWork(Backend backend) {
        try (Device dev = GpuSupport.open(backend); Stream s = dev.newStream();
             Event e0 = dev.newEvent(); Event e1 = dev.newEvent(); Event e2 = dev.newEvent();
             DeviceArena arena = dev.newArena(256L << 20)) {
            int n = 64 << 20;
            Tensor t = arena.allocate(DType.F32, Shape.of(n));
            try (Launch empty = dev.modules().prepare(KernelCatalog.SMOKE_EMPTY, Dim3.of(1), Dim3.of(32), 0);
                 Launch fill = dev.modules().prepare(KernelCatalog.SMOKE_FILL, Dim3.of(n / 256), Dim3.of(256), 0,
                         t.arg(), KernelArg.f32(3f), KernelArg.i32(n))) {
                empty.launch(s);
                fill.launch(s);
                s.synchronize();
                int launches = 2000;
                long t0 = System.nanoTime();
                e0.record(s);
                for (int i = 0; i < launches; i++) empty.launch(s);
                e1.record(s);
                long hostNs = System.nanoTime() - t0;
                for (int i = 0; i < 10; i++) fill.launch(s);
                e2.record(s);
                float emptyMs = e0.elapsedMsTo(e1), fillMs = e1.elapsedMsTo(e2);
                System.out.printf("[%s %s] %d empty launches: %.2f us host each, %.2f us GPU each; 10 fills of 256 MB: %.3f ms (%.0f GB/s)%n",
                        backend, dev.info().name(), launches, hostNs / 1e3 / launches, emptyMs * 1e3 / launches, fillMs,
                        10.0 * 4 * n / fillMs / 1e6);
                assertTrue(emptyMs > 0 && fillMs > 0, "elapsed " + emptyMs + ", " + fillMs);
                // 2.5 GB written cannot take less than 0.25 ms on any GPU (10 TB/s): the events really bracket it.
                assertTrue(fillMs > 0.25f && fillMs < 10_000f, "fill time " + fillMs + " ms");
            }
        }
    }

    @Test
    void refusedAllocationNamesTheNumbersAndTheDeviceStaysUsable() {
        try (Device dev = GpuSupport.open(Backend.PANAMA); Stream s = dev.newStream()) {
            long total = dev.info().totalMemoryBytes();
            long ask = total + (8L << 30);
            var e = assertThrows(DeviceOutOfMemoryException.class, () -> dev.newArena(ask));
            String msg = e.getMessage();
            System.out.println("OOM message: " + msg);
            assertTrue(e.requested() >= ask, "requested " + e.requested());
            assertTrue(msg.contains(e.requested() + " bytes") && msg.contains("bytes free")
                    && msg.contains(dev.memInfo().total() + " total"), msg);
            int n = 1001;
            try (DeviceArena arena = dev.newArena(1 << 16); PinnedBuffer host = dev.newPinned(4L * n);
                 Launch fill = dev.modules().prepare(KernelCatalog.SMOKE_FILL, Dim3.of(4), Dim3.of(256), 0,
                         arena.allocate(DType.F32, Shape.of(n)).arg(), KernelArg.f32(-2f), KernelArg.i32(n))) {
                fill.launch(s);
                Tensor t = new Tensor(arena.base(), 0, Shape.of(n), DType.F32);
                float[] got = GpuSupport.download(host, t, s);
                for (int i = 0; i < n; i++) assertEquals(-2f, got[i], 0f, "element " + i);
            }
        }
    }
}
