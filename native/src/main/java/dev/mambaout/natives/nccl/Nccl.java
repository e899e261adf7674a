package dev.mambaout.natives.nccl;

import dev.mambaout.natives.NativeLibraries;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NCCL through Panama: communicator setup and teardown, the collectives data-parallel training needs, groups, and
 * errors. Communicators ({@code ncclComm_t}), streams and device pointers are {@code long}s, the driver's real
 * values from either {@link dev.mambaout.natives.CudaDriver} backend; every status is checked and a failure is an
 * {@link NcclException}. Counts are elements of the given {@link NcclDataType}, as NCCL takes them.
 *
 * <p>NCCL runs on the CUDA runtime it links statically, which shares the driver's primary contexts: a communicator
 * belongs to the device whose primary context is current when it is created, and its streams must be that device's.
 *
 * <p>NVLink SHARP (NVLS, multicast objects) must stay off on the machines this project runs on: start every
 * process that initialises NCCL with {@code NCCL_NVLS_ENABLE=0} in its environment. This class sets nothing itself
 * (NCCL reads its environment once, and a library changing the process environment behind the user's back is
 * worse than a documented requirement) and calls no multicast API.
 */
public final class Nccl {

    static final String LIBRARY = "nccl";
    static final List<String> SONAMES = List.of("libnccl.so.2");

    /** {@code NativeLibraries.load} of libnccl (cached once loaded), kept out of {@link NcclNative} so a missing
     * library is a {@link dev.mambaout.natives.CudaUnavailableException} every time, never a class-initialisation
     * error.
     */
    static NativeLibraries.Loaded require() {
        return NativeLibraries.load(LIBRARY, SONAMES);
    }

    private Nccl() {}

    /** Where libnccl was loaded from. */
    public static String libraryPath() { return require().path(); }

    /** {@code ncclGetVersion}; needs no GPU. */
    public static NcclVersion version() {
        require();
        return NcclVersion.fromCode(intOut("ncclGetVersion", NcclNative.GET_VERSION));
    }

    /** {@code ncclGetUniqueId}: rank 0 calls it once and hands the id to every rank. Opens rank 0's bootstrap socket. */
    public static NcclUniqueId uniqueId() {
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(NcclUniqueId.LAYOUT);
            NcclNative.check("ncclGetUniqueId", (int) NcclNative.GET_UNIQUE_ID.invokeExact(id));
            return NcclUniqueId.read(id);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("ncclGetUniqueId downcall failed", t);
        }
    }

    /**
     * {@code ncclCommInitRank}: this process's rank of {@code nranks}, on the device whose context is current. Blocks
     * until every rank has joined, unless called inside a group (one thread creating several ranks must group them).
     */
    public static long commInitRank(int nranks, NcclUniqueId id, int rank) {
        if (nranks < 1 || rank < 0 || rank >= nranks) {
            throw new IllegalArgumentException("ncclCommInitRank needs 0 <= rank < nranks, got rank " + rank + " of "
                    + nranks);
        }
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            NcclNative.check("ncclCommInitRank",
                    (int) NcclNative.COMM_INIT_RANK.invokeExact(out, nranks, id.toStruct(a), rank));
            return out.get(JAVA_LONG, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("ncclCommInitRank downcall failed", t);
        }
    }

    /**
     * {@code ncclCommInitAll}: one communicator per listed device, all in this process; element i is rank i. NCCL
     * switches the calling thread's current device while it works (cudaSetDevice on each), so make the caller's
     * context current again afterwards.
     */
    public static long[] commInitAll(int... devices) {
        if (devices.length == 0) throw new IllegalArgumentException("ncclCommInitAll needs at least one device");
        for (int i = 0; i < devices.length; i++) {
            if (devices[i] < 0) throw new IllegalArgumentException("device ordinal " + devices[i] + " at " + i);
            for (int j = 0; j < i; j++) {
                if (devices[j] == devices[i]) {
                    throw new IllegalArgumentException("device " + devices[i] + " listed twice (ranks " + j + " and "
                            + i + "): one rank per GPU");
                }
            }
        }
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG, devices.length);
            MemorySegment list = a.allocateFrom(JAVA_INT, devices);
            NcclNative.check("ncclCommInitAll",
                    (int) NcclNative.COMM_INIT_ALL.invokeExact(out, devices.length, list));
            return out.toArray(JAVA_LONG);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("ncclCommInitAll downcall failed", t);
        }
    }

    /** {@code ncclCommDestroy}: waits for the communicator's queued work, then frees it. */
    public static void commDestroy(long comm) { commCall("ncclCommDestroy", NcclNative.COMM_DESTROY, comm); }

    /** {@code ncclCommAbort}: frees the communicator without waiting, ending its in-flight operations. */
    public static void commAbort(long comm) { commCall("ncclCommAbort", NcclNative.COMM_ABORT, comm); }

    /** {@code ncclCommGetAsyncError}: an error a collective met after it was queued (a peer died, a network fault). */
    public static int commGetAsyncError(long comm) {
        return commIntOut("ncclCommGetAsyncError", NcclNative.COMM_GET_ASYNC_ERROR, comm);
    }

    /** {@code ncclCommCount}: ranks in the communicator. */
    public static int commCount(long comm) { return commIntOut("ncclCommCount", NcclNative.COMM_COUNT, comm); }

    /** {@code ncclCommUserRank}: this communicator's rank. */
    public static int commUserRank(long comm) {
        return commIntOut("ncclCommUserRank", NcclNative.COMM_USER_RANK, comm);
    }

    /** {@code ncclCommCuDevice}: the device ordinal the communicator lives on. */
    public static int commCuDevice(long comm) {
        return commIntOut("ncclCommCuDevice", NcclNative.COMM_CU_DEVICE, comm);
    }

    /**
     * {@code ncclAllReduce} of {@code count} elements; {@code send == recv} reduces in place. Allocates nothing (the
     * library check is a map lookup, next to NCCL's microseconds of enqueueing).
     */
    public static void allReduce(long send, long recv, long count, NcclDataType type, NcclRedOp op, long comm,
                                 long stream) {
        require();
        int st;
        try {
            st = (int) NcclNative.ALL_REDUCE.invokeExact(send, recv, count, type.value(), op.value(), comm, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("ncclAllReduce downcall failed", t);
        }
        NcclNative.check("ncclAllReduce", st);
    }

    /** {@code ncclBroadcast} of {@code count} elements from rank {@code root}'s {@code send} into every {@code recv}. */
    public static void broadcast(long send, long recv, long count, NcclDataType type, int root, long comm,
                                 long stream) {
        require();
        int st;
        try {
            st = (int) NcclNative.BROADCAST.invokeExact(send, recv, count, type.value(), root, comm, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("ncclBroadcast downcall failed", t);
        }
        NcclNative.check("ncclBroadcast", st);
    }

    /** {@code ncclReduceScatter}: {@code send} holds nranks x {@code recvCount}; rank i keeps the i-th block. */
    public static void reduceScatter(long send, long recv, long recvCount, NcclDataType type, NcclRedOp op, long comm,
                                     long stream) {
        require();
        int st;
        try {
            st = (int) NcclNative.REDUCE_SCATTER.invokeExact(send, recv, recvCount, type.value(), op.value(), comm,
                    stream);
        } catch (Throwable t) {
            throw new IllegalStateException("ncclReduceScatter downcall failed", t);
        }
        NcclNative.check("ncclReduceScatter", st);
    }

    /** {@code ncclAllGather}: every {@code recv} gets nranks x {@code sendCount}, rank i's block at i x sendCount. */
    public static void allGather(long send, long recv, long sendCount, NcclDataType type, long comm, long stream) {
        require();
        int st;
        try {
            st = (int) NcclNative.ALL_GATHER.invokeExact(send, recv, sendCount, type.value(), comm, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("ncclAllGather downcall failed", t);
        }
        NcclNative.check("ncclAllGather", st);
    }

    /** {@code ncclGroupStart}: NCCL calls on this thread are deferred until the matching {@link #groupEnd}. */
    public static void groupStart() {
        require();
        noArgs("ncclGroupStart", NcclNative.GROUP_START);
    }

    /** {@code ncclGroupEnd}: issues the group's calls together (and waits for a group of inits to finish). */
    public static void groupEnd() {
        require();
        noArgs("ncclGroupEnd", NcclNative.GROUP_END);
    }

    /** ncclGetErrorString for a status, with ncclGetLastError's detail for this thread when there is one. */
    public static String describe(int status) {
        require();
        return NcclNative.describe(status);
    }

    private static void noArgs(String call, MethodHandle h) {
        int st;
        try {
            st = (int) h.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(call + " downcall failed", t);
        }
        NcclNative.check(call, st);
    }

    private static void commCall(String call, MethodHandle h, long comm) {
        require();
        int st;
        try {
            st = (int) h.invokeExact(comm);
        } catch (Throwable t) {
            throw new IllegalStateException(call + " downcall failed", t);
        }
        NcclNative.check(call, st);
    }

    private static int intOut(String call, MethodHandle h) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            NcclNative.check(call, (int) h.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(call + " downcall failed", t);
        }
    }

    private static int commIntOut(String call, MethodHandle h, long comm) {
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            NcclNative.check(call, (int) h.invokeExact(comm, out));
            return out.get(JAVA_INT, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(call + " downcall failed", t);
        }
    }
}
