package dev.mambaout.natives.cudnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One planned convolution: tensor, filter and convolution descriptors, the output shape cuDNN derives, and an
 * algorithm with its workspace size for each direction, chosen once by cuDNN's queries (the first candidate whose
 * status is success). The run methods write alpha and beta into memory the plan owns, so they allocate nothing; a
 * plan is used by one thread at a time.
 */
public final class ConvPlan implements AutoCloseable {

    private static final int MAX_ALGOS = 16;

    /** An algorithm cuDNN picked and the workspace it needs. */
    public record Choice(int algorithm, long workspaceBytes) {}

    private final long handle;
    private final ConvSpec spec;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alpha;
    private final MemorySegment beta;
    private final long xDesc;
    private final long yDesc;
    private final long wDesc;
    private final long convDesc;
    private final int outN, outC, outH, outW;
    private final Choice forward;
    private final Choice backwardData;
    private final Choice backwardFilter;
    private boolean closed;

    ConvPlan(long handle, ConvSpec spec) {
        this.handle = handle;
        this.spec = spec;
        long x = 0, y = 0, w = 0, conv = 0;
        try (Arena tmp = Arena.ofConfined()) {
            alpha = arena.allocate(JAVA_FLOAT);
            beta = arena.allocate(JAVA_FLOAT);
            int fmt = spec.format().value(), dt = spec.dataType().value();

            x = create(CudnnNative.CREATE_TENSOR, "cudnnCreateTensorDescriptor", tmp);
            CudnnNative.check("cudnnSetTensor4dDescriptor(x)", (int) CudnnNative.SET_TENSOR_4D.invokeExact(x, fmt, dt,
                    spec.n(), spec.c(), spec.h(), spec.w()));
            w = create(CudnnNative.CREATE_FILTER, "cudnnCreateFilterDescriptor", tmp);
            CudnnNative.check("cudnnSetFilter4dDescriptor", (int) CudnnNative.SET_FILTER_4D.invokeExact(w, dt, fmt,
                    spec.k(), spec.c() / spec.groups(), spec.r(), spec.s()));
            conv = create(CudnnNative.CREATE_CONV, "cudnnCreateConvolutionDescriptor", tmp);
            // Float arithmetic for every data type: half and bf16 data accumulate in float.
            CudnnNative.check("cudnnSetConvolution2dDescriptor", (int) CudnnNative.SET_CONV_2D.invokeExact(conv,
                    spec.padH(), spec.padW(), spec.strideH(), spec.strideW(), spec.dilationH(), spec.dilationW(),
                    CudnnAbi.CROSS_CORRELATION, CudnnDataType.FLOAT.value()));
            CudnnNative.check("cudnnSetConvolutionGroupCount",
                    (int) CudnnNative.SET_GROUPS.invokeExact(conv, spec.groups()));
            CudnnNative.check("cudnnSetConvolutionMathType",
                    (int) CudnnNative.SET_MATH.invokeExact(conv, spec.mathType().value()));

            MemorySegment dims = tmp.allocate(JAVA_INT, 4);
            CudnnNative.check("cudnnGetConvolution2dForwardOutputDim", (int) CudnnNative.OUTPUT_DIM.invokeExact(conv,
                    x, w, dims.asSlice(0, 4), dims.asSlice(4, 4), dims.asSlice(8, 4), dims.asSlice(12, 4)));
            outN = dims.getAtIndex(JAVA_INT, 0);
            outC = dims.getAtIndex(JAVA_INT, 1);
            outH = dims.getAtIndex(JAVA_INT, 2);
            outW = dims.getAtIndex(JAVA_INT, 3);
            y = create(CudnnNative.CREATE_TENSOR, "cudnnCreateTensorDescriptor", tmp);
            CudnnNative.check("cudnnSetTensor4dDescriptor(y)", (int) CudnnNative.SET_TENSOR_4D.invokeExact(y, fmt, dt,
                    outN, outC, outH, outW));

            forward = choose(tmp, CudnnNative.FWD_QUERY, CudnnNative.FWD_QUERY_NAME, CudnnNative.FWD_WORKSPACE,
                    "cudnnGetConvolutionForwardWorkspaceSize", x, w, conv, y);
            backwardData = choose(tmp, CudnnNative.BWD_DATA_QUERY, CudnnNative.BWD_DATA_QUERY_NAME,
                    CudnnNative.BWD_DATA_WORKSPACE, "cudnnGetConvolutionBackwardDataWorkspaceSize", w, y, conv, x);
            backwardFilter = choose(tmp, CudnnNative.BWD_FILTER_QUERY, CudnnNative.BWD_FILTER_QUERY_NAME,
                    CudnnNative.BWD_FILTER_WORKSPACE, "cudnnGetConvolutionBackwardFilterWorkspaceSize", x, y, conv, w);
        } catch (RuntimeException | Error e) {
            destroyQuietly(x, y, w, conv);
            arena.close();
            throw e;
        } catch (Throwable t) {
            destroyQuietly(x, y, w, conv);
            arena.close();
            throw new IllegalStateException("cuDNN planning downcall failed", t);
        }
        xDesc = x;
        yDesc = y;
        wDesc = w;
        convDesc = conv;
    }

    public ConvSpec spec() { return spec; }

    /** Output shape {n, c, h, w} as cuDNN computed it (laid out in the spec's format). */
    public int[] outputShape() { return new int[] {outN, outC, outH, outW}; }

    public Choice forwardChoice() { return forward; }

    public Choice backwardDataChoice() { return backwardData; }

    public Choice backwardFilterChoice() { return backwardFilter; }

    /** The most workspace any direction needs: one buffer this large serves all three. */
    public long workspaceBytes() {
        return Math.max(forward.workspaceBytes(), Math.max(backwardData.workspaceBytes(),
                backwardFilter.workspaceBytes()));
    }

    /** y = alpha conv(x, w) + beta y, on the handle's stream. */
    public void forward(float alphaValue, long x, long w, float betaValue, long y, long workspace) {
        run(CudnnNative.FORWARD, "cudnnConvolutionForward", forward, alphaValue, xDesc, x, wDesc, w, betaValue,
                yDesc, y, workspace);
    }

    /** dx = alpha conv_backward_data(w, dy) + beta dx. */
    public void backwardData(float alphaValue, long w, long dy, float betaValue, long dx, long workspace) {
        run(CudnnNative.BACKWARD_DATA, "cudnnConvolutionBackwardData", backwardData, alphaValue, wDesc, w, yDesc, dy,
                betaValue, xDesc, dx, workspace);
    }

    /** dw = alpha conv_backward_filter(x, dy) + beta dw. */
    public void backwardFilter(float alphaValue, long x, long dy, float betaValue, long dw, long workspace) {
        run(CudnnNative.BACKWARD_FILTER, "cudnnConvolutionBackwardFilter", backwardFilter, alphaValue, xDesc, x,
                yDesc, dy, betaValue, wDesc, dw, workspace);
    }

    private void run(MethodHandle call, String name, Choice choice, float alphaValue, long d1, long p1, long d2,
                     long p2, float betaValue, long d3, long p3, long workspace) {
        if (closed) throw new IllegalStateException("this cuDNN plan is closed");
        if (p1 == 0 || p2 == 0 || p3 == 0) {
            throw new IllegalArgumentException(name + " needs three device pointers, got 0x" + Long.toHexString(p1)
                    + ", 0x" + Long.toHexString(p2) + ", 0x" + Long.toHexString(p3));
        }
        if (choice.workspaceBytes() > 0 && workspace == 0) {
            throw new IllegalArgumentException(name + " with algorithm " + choice.algorithm() + " needs "
                    + choice.workspaceBytes() + " bytes of workspace, got none");
        }
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        int st;
        try {
            st = (int) call.invokeExact(handle, alpha, d1, p1, d2, p2, convDesc, choice.algorithm(), workspace,
                    choice.workspaceBytes(), beta, d3, p3);
        } catch (Throwable t) {
            throw new IllegalStateException(name + " downcall failed", t);
        }
        CudnnNative.check(name, st);
    }

    private static long create(MethodHandle h, String call, Arena tmp) throws Throwable {
        MemorySegment out = tmp.allocate(JAVA_LONG);
        CudnnNative.check(call, (int) h.invokeExact(out));
        return out.get(JAVA_LONG, 0);
    }

    private Choice choose(Arena tmp, MethodHandle query, String queryName, MethodHandle wsQuery, String wsName,
                          long d1, long d2, long conv, long d3) throws Throwable {
        MemorySegment perf = tmp.allocate(CudnnAbi.ALGO_PERF, MAX_ALGOS);
        MemorySegment count = tmp.allocate(JAVA_INT);
        CudnnNative.check(queryName, (int) query.invokeExact(handle, d1, d2, conv, d3, MAX_ALGOS, count, perf));
        long stride = CudnnAbi.ALGO_PERF.byteSize();
        int n = count.get(JAVA_INT, 0);
        for (int i = 0; i < n; i++) {
            if (perf.get(JAVA_INT, i * stride + CudnnAbi.PERF_STATUS) != 0) continue;
            int algo = perf.get(JAVA_INT, i * stride + CudnnAbi.PERF_ALGO);
            MemorySegment ws = tmp.allocate(JAVA_LONG);
            int st = (int) wsQuery.invokeExact(handle, d1, d2, conv, d3, algo, ws);
            if (st != 0) continue;   // listed but not usable with these descriptors: try the next
            return new Choice(algo, ws.get(JAVA_LONG, 0));
        }
        throw new UnsupportedOperationException(queryName + " offered no usable algorithm for " + spec + " ("
                + n + " candidate(s))");
    }

    private static void destroyQuietly(long x, long y, long w, long conv) {
        try {
            if (conv != 0) { int _ = (int) CudnnNative.DESTROY_CONV.invokeExact(conv); }
            if (w != 0) { int _ = (int) CudnnNative.DESTROY_FILTER.invokeExact(w); }
            if (y != 0) { int _ = (int) CudnnNative.DESTROY_TENSOR.invokeExact(y); }
            if (x != 0) { int _ = (int) CudnnNative.DESTROY_TENSOR.invokeExact(x); }
        } catch (Throwable _) {
            // already unwinding a failure: the first error is the one to report
        }
    }

    /** Destroys the descriptors. A second close does nothing. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            CudnnNative.check("cudnnDestroyConvolutionDescriptor", (int) CudnnNative.DESTROY_CONV.invokeExact(convDesc));
            CudnnNative.check("cudnnDestroyFilterDescriptor", (int) CudnnNative.DESTROY_FILTER.invokeExact(wDesc));
            CudnnNative.check("cudnnDestroyTensorDescriptor", (int) CudnnNative.DESTROY_TENSOR.invokeExact(yDesc));
            CudnnNative.check("cudnnDestroyTensorDescriptor", (int) CudnnNative.DESTROY_TENSOR.invokeExact(xDesc));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cuDNN destroy downcall failed", t);
        } finally {
            arena.close();
        }
    }
}
