package dev.mambaout.natives;

import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tens of thousands of launches, back to back and as replays of a captured 100-launch graph, on each backend: every
 * launch of the {@code count} kernel adds one to a counter, so the check is that each of them ran exactly once
 * (nothing dropped or doubled by reusing one parameter block). What a launch costs is the bench module's business.
 */
@Tag("gpu")
class ManyLaunchesGpuTest {

    @ParameterizedTest
    @EnumSource(Backend.class)
    void everyLaunchRunsExactlyOnce(Backend backend) throws Exception {
        Cuda.Availability availability = Cuda.availability(backend);
        assumeTrue(availability.available(), availability.reason());
        CudaDriver d = Cuda.open(backend);
        d.contextSetCurrent(d.primaryContextRetain(0));
        byte[] ptx;
        try (InputStream in = getClass().getResourceAsStream("test_kernels.ptx")) {
            ptx = in.readAllBytes();
        }
        long module = d.moduleLoadData(ptx);
        long count = d.moduleGetFunction(module, "count");
        long stream = d.streamCreate(true);
        long counter = d.memAlloc(4);
        try (Arena arena = Arena.ofConfined(); ParamBlock p = d.newParamBlock(List.of(ParamKind.PTR))) {
            d.memsetD32Async(counter, 0, 1, stream);
            p.setPtr(0, counter);
            int rounds = 15;
            int perRound = 2000;
            long launches = 0;
            for (int r = 0; r < rounds; r++) {
                d.streamSynchronize(stream);
                for (int i = 0; i < perRound; i++) d.launchKernel(count, 1, 1, 1, 32, 1, 1, 0, stream, p);
                launches += perRound;
            }
            d.streamBeginCapture(stream);
            for (int i = 0; i < 100; i++) d.launchKernel(count, 1, 1, 1, 32, 1, 1, 0, stream, p);
            long graph = d.streamEndCapture(stream);
            long exec = d.graphInstantiate(graph);
            int replays = 200;
            for (int r = 0; r < 5; r++) {
                d.streamSynchronize(stream);
                for (int i = 0; i < replays; i++) d.graphLaunch(exec, stream);
                launches += 100L * replays;
            }
            d.streamSynchronize(stream);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            d.memcpyDtoH(out, counter, 4);
            assertEquals(launches, Integer.toUnsignedLong(out.get(ValueLayout.JAVA_INT, 0)), "launches that ran");
            d.graphExecDestroy(exec);
            d.graphDestroy(graph);
        } finally {
            d.memFree(counter);
            d.streamDestroy(stream);
            d.moduleUnload(module);
            d.primaryContextRelease(0);
        }
    }
}
