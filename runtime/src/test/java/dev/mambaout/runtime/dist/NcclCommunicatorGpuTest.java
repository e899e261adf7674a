package dev.mambaout.runtime.dist;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.nccl.Nccl;
import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.natives.nccl.NcclRedOp;
import dev.mambaout.natives.nccl.NcclVersion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * NCCL on real devices: one rank (any GPU machine) and two ranks driven from one thread (machines with two GPUs or
 * more). Skipped with the reason without a driver, without libnccl, or without {@code NCCL_NVLS_ENABLE=0} (NVLink
 * multicast stays off on the project's machines, so the tests never start NCCL with it possibly on).
 */
@Tag("gpu")
class NcclCommunicatorGpuTest {

    /** Float NaN as bits: outputs start poisoned, so an element never written reads back NaN. */
    private static final int NAN_F32 = 0x7FC00000;

    private static CudaDriver open() {
        Cuda.Availability a = Cuda.availability();
        assumeTrue(a.available(), a.reason());
        assumeTrue("0".equals(System.getenv("NCCL_NVLS_ENABLE")),
                "NCCL tests run only with NCCL_NVLS_ENABLE=0 in the environment (NVLink multicast stays off)");
        try {
            System.out.println("NCCL " + Nccl.version() + " from " + Nccl.libraryPath());
        } catch (CudaUnavailableException e) {
            assumeTrue(false, e.getMessage());
        }
        return Cuda.open();
    }

    private static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    private static long upload(CudaDriver d, Arena arena, float[] v) {
        MemorySegment host = arena.allocateFrom(JAVA_FLOAT, v);
        long p = d.memAlloc(host.byteSize());
        d.memcpyHtoD(p, host, host.byteSize());
        return p;
    }

    private static float[] download(CudaDriver d, Arena arena, long p, int n, long stream) {
        d.streamSynchronize(stream);
        MemorySegment host = arena.allocate(JAVA_FLOAT, n);
        d.memcpyDtoH(host, p, host.byteSize());
        return host.toArray(JAVA_FLOAT);
    }

    /** Bit patterns, so -0.0 vs 0.0 or a changed NaN payload would count as a difference. */
    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }

    @Test
    void oneRankReducesAndBroadcastsToTheIdentity() {
        CudaDriver d = open();
        NcclVersion version = Nccl.version();
        assertTrue(version.atLeast(2, 18), "NCCL " + version + " is older than 2.18");
        long ctx = d.primaryContextRetain(0);
        int n = (1 << 20) + 3;   // not a multiple of NCCL's chunk sizes
        float[] data = random(new Random(1), n);
        try (Arena arena = Arena.ofConfined()) {
            List<NcclCommunicator> all = NcclCommunicator.initAll(0);
            d.contextSetCurrent(ctx);   // ncclCommInitAll moved the thread's current device
            // The same world through ncclCommInitRank: the unique id passed by value through Panama.
            NcclCommunicator byId = NcclCommunicator.initRank(1, Nccl.uniqueId(), 0);
            for (NcclCommunicator comm : List.of(all.getFirst(), byId)) {
                assertEquals(0, comm.rank());
                assertEquals(1, comm.size());
                assertEquals(0, comm.device());
                long stream = d.streamCreate(true);
                long in = upload(d, arena, data);
                long out = d.memAlloc(4L * n);
                d.memsetD32Async(out, NAN_F32, n, stream);
                comm.allReduce(in, out, n, NcclDataType.FLOAT32, NcclRedOp.SUM, stream);
                assertArrayEquals(bits(data), bits(download(d, arena, out, n, stream)), "all-reduce of one rank");
                comm.allReduce(in, in, n, NcclDataType.FLOAT32, NcclRedOp.SUM, stream);
                assertArrayEquals(bits(data), bits(download(d, arena, in, n, stream)), "in place");
                comm.broadcast(in, n, NcclDataType.FLOAT32, 0, stream);
                assertArrayEquals(bits(data), bits(download(d, arena, in, n, stream)), "broadcast from root 0");
                comm.checkAsync();
                assertEquals(0, Nccl.commGetAsyncError(comm.handle()));
                d.memFree(in);
                d.memFree(out);
                d.streamDestroy(stream);
                comm.close();
                comm.close();   // a second close does nothing
                assertThrows(IllegalStateException.class, comm::handle);
            }
        } finally {
            d.primaryContextRelease(0);
        }
    }

    @Test
    void twoRanksInOneProcessSumTheirData() {
        CudaDriver d = open();
        int devices = d.deviceCount();
        assumeTrue(devices >= 2, "two ranks need two GPUs; this machine has " + devices);
        int n = 3 * 1024 * 1024 + 5;
        Random rnd = new Random(2);
        float[][] data = {random(rnd, n), random(rnd, n)};
        long[] ctx = {d.primaryContextRetain(0), d.primaryContextRetain(1)};
        long[] buf = new long[2], stream = new long[2];
        try (Arena arena = Arena.ofConfined()) {
            List<NcclCommunicator> comms = NcclCommunicator.initAll(0, 1);
            for (int r = 0; r < 2; r++) {
                assertEquals(r, comms.get(r).rank());
                assertEquals(2, comms.get(r).size());
                assertEquals(r, comms.get(r).device());
                d.contextSetCurrent(ctx[r]);
                stream[r] = d.streamCreate(true);
                buf[r] = upload(d, arena, data[r]);
            }
            // One thread drives both ranks: the calls must be one group, or rank 0's would wait for rank 1's forever.
            comms.getFirst().group(() -> {
                for (int r = 0; r < 2; r++) {
                    comms.get(r).allReduce(buf[r], buf[r], n, NcclDataType.FLOAT32, NcclRedOp.SUM, stream[r]);
                }
            });
            float[] sum = new float[n];
            for (int i = 0; i < n; i++) sum[i] = data[0][i] + data[1][i];   // two addends: the same in any order
            for (int r = 0; r < 2; r++) {
                d.contextSetCurrent(ctx[r]);
                assertArrayEquals(bits(sum), bits(download(d, arena, buf[r], n, stream[r])), "rank " + r);
            }
            d.contextSetCurrent(ctx[1]);
            d.memcpyHtoD(buf[1], arena.allocateFrom(JAVA_FLOAT, data[1]), 4L * n);
            comms.getFirst().group(() -> {
                for (int r = 0; r < 2; r++) comms.get(r).broadcast(buf[r], n, NcclDataType.FLOAT32, 1, stream[r]);
            });
            d.contextSetCurrent(ctx[0]);
            assertArrayEquals(bits(data[1]), bits(download(d, arena, buf[0], n, stream[0])), "broadcast from rank 1");
            for (int r = 0; r < 2; r++) {
                comms.get(r).checkAsync();
                d.contextSetCurrent(ctx[r]);
                d.memFree(buf[r]);
                d.streamDestroy(stream[r]);
            }
            // ncclCommDestroy waits for the rank's own work only, so a plain loop cannot deadlock (NCCL's example 1).
            comms.forEach(NcclCommunicator::close);
        } finally {
            d.primaryContextRelease(0);
            d.primaryContextRelease(1);
        }
    }
}
