package dev.mambaout.natives;

import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A first look at what one launch costs the host on each backend (the bench module does this properly with JMH).
 * Every launch of the {@code count} kernel adds one to a counter, so the check is that all of them ran. Printed:
 * the median over rounds of host time per cuLaunchKernel call, and per graph replay of a captured 100-launch graph.
 */
@Tag("gpu")
class LaunchOverheadGpuTest {

    @ParameterizedTest
    @EnumSource(Backend.class)
    void everyLaunchRunsAndTheHostCostIsPrinted(Backend backend) throws Exception {
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
            double[] usPerLaunch = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                d.streamSynchronize(stream);
                long t0 = System.nanoTime();
                for (int i = 0; i < perRound; i++) d.launchKernel(count, 1, 1, 1, 32, 1, 1, 0, stream, p);
                usPerLaunch[r] = (System.nanoTime() - t0) / 1e3 / perRound;
                launches += perRound;
            }
            d.streamBeginCapture(stream);
            for (int i = 0; i < 100; i++) d.launchKernel(count, 1, 1, 1, 32, 1, 1, 0, stream, p);
            long graph = d.streamEndCapture(stream);
            long exec = d.graphInstantiate(graph);
            int replays = 200;
            double[] usPerReplay = new double[5];
            for (int r = 0; r < usPerReplay.length; r++) {
                d.streamSynchronize(stream);
                long t0 = System.nanoTime();
                for (int i = 0; i < replays; i++) d.graphLaunch(exec, stream);
                usPerReplay[r] = (System.nanoTime() - t0) / 1e3 / replays;
                launches += 100L * replays;
            }
            d.streamSynchronize(stream);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            d.memcpyDtoH(out, counter, 4);
            assertEquals(launches, Integer.toUnsignedLong(out.get(ValueLayout.JAVA_INT, 0)), "launches that ran");
            Arrays.sort(usPerLaunch);
            Arrays.sort(usPerReplay);
            System.out.printf("%s on %s: cuLaunchKernel %.2f us/call (median of %d x %d, min %.2f); "
                            + "cuGraphLaunch of 100 kernels %.2f us/call (median)%n", backend, d.deviceName(0),
                    usPerLaunch[rounds / 2], rounds, perRound, usPerLaunch[0], usPerReplay[usPerReplay.length / 2]);
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
