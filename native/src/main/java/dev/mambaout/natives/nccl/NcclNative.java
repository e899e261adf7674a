package dev.mambaout.natives.nccl;

import dev.mambaout.natives.panama.Downcalls;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcalls into libnccl.so.2, named after nccl.h's symbols. Communicators, streams and device pointers travel as
 * {@code long}, so a collective wraps nothing. None is bound {@code critical}: NCCL's calls take locks, wait on other
 * ranks (init, group end) and talk to its proxy threads, which must not hold up a safepoint. Touching this class
 * loads the library; {@link Nccl#require()} comes first so a missing one is a
 * {@link dev.mambaout.natives.CudaUnavailableException}, never a class-initialisation error.
 */
final class NcclNative {

    static final SymbolLookup LIB = Nccl.require().lookup();

    private static final FunctionDescriptor NO_ARGS = FunctionDescriptor.of(JAVA_INT);
    /** (const ncclComm_t comm, int* out): ncclCommCount, ncclCommUserRank, ncclCommCuDevice, ncclCommGetAsyncError. */
    private static final FunctionDescriptor COMM_INT_OUT = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS);
    private static final FunctionDescriptor COMM = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);

    static final MethodHandle GET_VERSION = Downcalls.bind(LIB, "ncclGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle GET_UNIQUE_ID = Downcalls.bind(LIB, "ncclGetUniqueId",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    /** ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank): the id by value. */
    static final MethodHandle COMM_INIT_RANK = Downcalls.bind(LIB, "ncclCommInitRank",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, NcclUniqueId.LAYOUT, JAVA_INT));
    /** ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist). */
    static final MethodHandle COMM_INIT_ALL = Downcalls.bind(LIB, "ncclCommInitAll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    static final MethodHandle COMM_DESTROY = Downcalls.bind(LIB, "ncclCommDestroy", COMM);
    static final MethodHandle COMM_ABORT = Downcalls.bind(LIB, "ncclCommAbort", COMM);
    static final MethodHandle COMM_GET_ASYNC_ERROR = Downcalls.bind(LIB, "ncclCommGetAsyncError", COMM_INT_OUT);
    static final MethodHandle COMM_COUNT = Downcalls.bind(LIB, "ncclCommCount", COMM_INT_OUT);
    static final MethodHandle COMM_CU_DEVICE = Downcalls.bind(LIB, "ncclCommCuDevice", COMM_INT_OUT);
    static final MethodHandle COMM_USER_RANK = Downcalls.bind(LIB, "ncclCommUserRank", COMM_INT_OUT);

    /** ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t). */
    static final MethodHandle ALL_REDUCE = Downcalls.bind(LIB, "ncclAllReduce", FunctionDescriptor.of(JAVA_INT,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    /** ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t, int root, ncclComm_t, cudaStream_t). */
    static final MethodHandle BROADCAST = Downcalls.bind(LIB, "ncclBroadcast", FunctionDescriptor.of(JAVA_INT,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    /** ncclReduceScatter(const void* send, void* recv, size_t recvcount, ncclDataType_t, ncclRedOp_t, comm, stream). */
    static final MethodHandle REDUCE_SCATTER = Downcalls.bind(LIB, "ncclReduceScatter", FunctionDescriptor.of(JAVA_INT,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    /** ncclAllGather(const void* send, void* recv, size_t sendcount, ncclDataType_t, ncclComm_t, cudaStream_t). */
    static final MethodHandle ALL_GATHER = Downcalls.bind(LIB, "ncclAllGather", FunctionDescriptor.of(JAVA_INT,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    static final MethodHandle GROUP_START = Downcalls.bind(LIB, "ncclGroupStart", NO_ARGS);
    static final MethodHandle GROUP_END = Downcalls.bind(LIB, "ncclGroupEnd", NO_ARGS);

    static final MethodHandle GET_ERROR_STRING = Downcalls.bind(LIB, "ncclGetErrorString",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    /** const char* ncclGetLastError(ncclComm_t comm): the calling thread's last message; comm is unused (NULL). */
    static final MethodHandle GET_LAST_ERROR = Downcalls.bind(LIB, "ncclGetLastError",
            FunctionDescriptor.of(ADDRESS, JAVA_LONG));

    private NcclNative() {}

    /** ncclGetErrorString, then ncclGetLastError's detail when it has one; never throws. */
    static String describe(int status) {
        String text = Downcalls.statusText(GET_ERROR_STRING, status, null);
        String last;
        try {
            last = Downcalls.cString((MemorySegment) GET_LAST_ERROR.invokeExact(0L));
        } catch (Throwable t) {
            last = null;
        }
        if (last == null || last.isBlank()) return text;
        return text == null ? "last error: " + last : text + "; last error: " + last;
    }

    static void check(String call, int status) {
        if (status != 0) throw new NcclException(call, status, describe(status));
    }
}
