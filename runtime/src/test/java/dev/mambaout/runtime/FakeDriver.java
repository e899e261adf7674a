package dev.mambaout.runtime;

import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaException;
import dev.mambaout.natives.ParamBlock;
import dev.mambaout.natives.ParamKind;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A CPU stand-in for the driver covering what the CPU tests touch: one device with a fixed amount of "memory"
 * (allocations past it fail as cuMemAlloc does), parameter blocks that remember their values, and recorded launches.
 * Everything else is unsupported, so a test that strays into it fails loudly.
 */
final class FakeDriver implements CudaDriver {
    static final long TOTAL = 1L << 30;

    long allocated;
    long nextAddress = 0x7f00_0000_0000L;
    int released;
    final List<String> launches = new ArrayList<>();
    RecordingBlock lastBlock;

    /** A parameter block that keeps each value as a long (float bits for F32). */
    static final class RecordingBlock implements ParamBlock {
        final List<ParamKind> kinds;
        final long[] values;
        boolean closed;

        RecordingBlock(List<ParamKind> kinds) {
            this.kinds = List.copyOf(kinds);
            this.values = new long[kinds.size()];
        }

        public List<ParamKind> kinds() { return kinds; }

        public void setPtr(int i, long v) { values[i] = v; }

        public void setI32(int i, int v) { values[i] = v; }

        public void setI64(int i, long v) { values[i] = v; }

        public void setF32(int i, float v) { values[i] = Float.floatToRawIntBits(v); }

        public void close() { closed = true; }
    }

    public Backend backend() { return Backend.PANAMA; }

    public int driverVersion() { return 13000; }

    public int deviceCount() { return 1; }

    public String deviceName(int ordinal) { return "Fake GPU"; }

    public int deviceAttribute(int ordinal, int attribute) {
        return switch (attribute) {
            case DeviceAttribute.MULTIPROCESSOR_COUNT -> 132;
            case DeviceAttribute.L2_CACHE_SIZE -> 50 << 20;
            case DeviceAttribute.COMPUTE_CAPABILITY_MAJOR -> 9;
            case DeviceAttribute.COMPUTE_CAPABILITY_MINOR -> 0;
            default -> 0;
        };
    }

    public long deviceTotalMem(int ordinal) { return TOTAL; }

    public long primaryContextRetain(int ordinal) { return 0xC0FFEE; }

    public void primaryContextRelease(int ordinal) { released++; }

    public void contextSetCurrent(long context) {}

    public void contextSynchronize() {}

    public long[] memGetInfo() { return new long[] {TOTAL - allocated, TOTAL}; }

    public long memAlloc(long bytes) {
        if (bytes > TOTAL - allocated) {
            throw new CudaException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
        }
        allocated += bytes;
        long a = nextAddress;
        nextAddress += bytes + 4096;
        return a;
    }

    public void memFree(long devicePtr) {}

    public ParamBlock newParamBlock(List<ParamKind> kinds) {
        lastBlock = new RecordingBlock(kinds);
        return lastBlock;
    }

    public void launchKernel(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                             int sharedMemBytes, long stream, ParamBlock params) {
        launches.add(function + " " + gridX + "x" + gridY + "x" + gridZ + " " + blockX + "x" + blockY + "x" + blockZ
                + " smem=" + sharedMemBytes + " stream=" + stream);
    }

    private static UnsupportedOperationException no() { return new UnsupportedOperationException("not in the fake"); }

    public long streamCreate(boolean nonBlocking) { return 0x5; }

    public void streamSynchronize(long stream) { throw no(); }

    public void streamDestroy(long stream) {}

    public void streamWaitEvent(long stream, long event) { throw no(); }

    public long eventCreate(boolean timing) { throw no(); }

    public void eventRecord(long event, long stream) { throw no(); }

    public void eventSynchronize(long event) { throw no(); }

    public float eventElapsedMs(long start, long end) { throw no(); }

    public void eventDestroy(long event) { throw no(); }

    public MemorySegment memHostAlloc(long bytes) { return java.lang.foreign.Arena.ofAuto().allocate(bytes, 256); }

    public void memFreeHost(MemorySegment host) {}

    public void memcpyHtoD(long dst, MemorySegment src, long bytes) { throw no(); }

    public void memcpyDtoH(MemorySegment dst, long src, long bytes) { throw no(); }

    public void memcpyDtoD(long dst, long src, long bytes) { throw no(); }

    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, long stream) { throw no(); }

    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, long stream) { throw no(); }

    public void memcpyDtoDAsync(long dst, long src, long bytes, long stream) { throw no(); }

    public void memsetD8Async(long dst, byte value, long count, long stream) { throw no(); }

    public void memsetD32Async(long dst, int value, long count, long stream) { throw no(); }

    public long moduleLoadData(byte[] image) { throw no(); }

    public void moduleUnload(long module) { throw no(); }

    public long moduleGetFunction(long module, String name) { throw no(); }

    public void funcSetAttribute(long function, int attribute, int value) { throw no(); }

    public void streamBeginCapture(long stream) { throw no(); }

    public long streamEndCapture(long stream) { throw no(); }

    public long graphInstantiate(long graph) { throw no(); }

    public void graphLaunch(long graphExec, long stream) { throw no(); }

    public void graphExecDestroy(long graphExec) { throw no(); }

    public void graphDestroy(long graph) { throw no(); }
}
