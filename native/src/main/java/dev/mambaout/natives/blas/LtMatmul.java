package dev.mambaout.natives.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One cuBLASLt matrix product, planned once (descriptor, layouts, the heuristics' algorithm) and run many times:
 * {@link #run} writes alpha, beta and (when it changed) the bias pointer into memory the plan owns and makes one
 * {@code cublasLtMatmul} call, allocating nothing, so it can be captured into a CUDA graph.
 *
 * <p>Layout mapping (see {@link RowMajorGemm}): cuBLASLt computes the column-major D^T[N,M] = op(B)^T op(A)^T, so its
 * "A" operand is the engine's B and its "B" operand the engine's A. For a linear layer y[T,out] = x[T,in] W[out,in]^T
 * that is C^T = W x^T with cuBLAS A = W (op T, ld in), cuBLAS B = x (op N, ld in), ldc = out; the bias has one value
 * per output feature (cuBLASLt's "rows of D").
 *
 * <p>One plan is used by one thread at a time (its scalars are shared between calls).
 */
public final class LtMatmul implements AutoCloseable {

    private static final int MAX_CANDIDATES = 8;

    private final long lt;
    private final LtMatmulSpec spec;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alpha;
    private final MemorySegment beta;
    private final MemorySegment biasPointer;
    private final MemorySegment algo;
    private final long desc;
    private final long layoutA;   // cuBLASLt's A = the engine's B
    private final long layoutB;   // cuBLASLt's B = the engine's A
    private final long layoutD;   // also used for C: same type and shape
    private final long workspaceBytes;
    private long currentBias;
    private boolean closed;

    LtMatmul(long lt, LtMatmulSpec spec) {
        this.lt = lt;
        this.spec = spec;
        ColumnMajorGemm g = spec.shape().columnMajor();
        long d = 0, la = 0, lb = 0, ld = 0, pref = 0;
        try (Arena tmp = Arena.ofConfined()) {
            alpha = arena.allocate(JAVA_FLOAT);
            beta = arena.allocate(JAVA_FLOAT);
            biasPointer = arena.allocate(JAVA_LONG);
            MemorySegment i32 = tmp.allocate(JAVA_INT);
            MemorySegment i64 = tmp.allocate(JAVA_LONG);

            d = createDesc(spec.compute());
            setDesc(d, CublasLtAbi.DESC_TRANSA, put(i32, ColumnMajorGemm.op(g.transA())), 4);
            setDesc(d, CublasLtAbi.DESC_TRANSB, put(i32, ColumnMajorGemm.op(g.transB())), 4);
            setDesc(d, CublasLtAbi.DESC_EPILOGUE, put(i32, spec.epilogue().value()), 4);

            la = layout(spec.abType(), g.aRows(), g.aCols(), g.lda());
            lb = layout(spec.abType(), g.bRows(), g.bCols(), g.ldb());
            ld = layout(spec.dType(), g.m(), g.n(), g.ldc());

            pref = createPreference();
            setPref(pref, CublasLtAbi.PREF_MAX_WORKSPACE_BYTES, put(i64, spec.maxWorkspaceBytes()), 8);
            for (int attr : new int[] {CublasLtAbi.PREF_MIN_ALIGNMENT_A_BYTES, CublasLtAbi.PREF_MIN_ALIGNMENT_B_BYTES,
                    CublasLtAbi.PREF_MIN_ALIGNMENT_C_BYTES, CublasLtAbi.PREF_MIN_ALIGNMENT_D_BYTES}) {
                setPref(pref, attr, put(i32, spec.alignmentBytes()), 4);
            }

            MemorySegment results = tmp.allocate(CublasLtAbi.HEURISTIC_RESULT, MAX_CANDIDATES);
            MemorySegment count = tmp.allocate(JAVA_INT);
            CublasLtNative.check("cublasLtMatmulAlgoGetHeuristic", (int) CublasLtNative.HEURISTIC.invokeExact(
                    lt, d, la, lb, ld, ld, pref, MAX_CANDIDATES, results, count));
            int n = count.get(JAVA_INT, 0);
            long stride = CublasLtAbi.HEURISTIC_RESULT.byteSize();
            MemorySegment chosen = null;
            long ws = 0;
            for (int i = 0; i < n && chosen == null; i++) {
                MemorySegment r = results.asSlice(i * stride, stride);
                long need = r.get(JAVA_LONG, CublasLtAbi.RESULT_WORKSPACE);
                if (r.get(JAVA_INT, CublasLtAbi.RESULT_STATE) == 0 && need <= spec.maxWorkspaceBytes()) {
                    chosen = r;
                    ws = need;
                }
            }
            if (chosen == null) {
                throw new UnsupportedOperationException("cuBLASLt has no algorithm for " + spec + " (" + g
                        + "); the heuristics returned " + n + " candidate(s) and none fit. Try another epilogue, data"
                        + " type, a larger workspace or a looser alignment");
            }
            algo = arena.allocate(CublasLtAbi.ALGO_BYTES, 8);
            algo.copyFrom(chosen.asSlice(0, CublasLtAbi.ALGO_BYTES));
            workspaceBytes = ws;
            destroy(CublasLtNative.PREF_DESTROY, "cublasLtMatmulPreferenceDestroy", pref);
            pref = 0;
        } catch (RuntimeException | Error e) {
            if (pref != 0) quietDestroy(CublasLtNative.PREF_DESTROY, pref);
            if (ld != 0) quietDestroy(CublasLtNative.LAYOUT_DESTROY, ld);
            if (lb != 0) quietDestroy(CublasLtNative.LAYOUT_DESTROY, lb);
            if (la != 0) quietDestroy(CublasLtNative.LAYOUT_DESTROY, la);
            if (d != 0) quietDestroy(CublasLtNative.DESC_DESTROY, d);
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException("cuBLASLt planning downcall failed", t);
        }
        desc = d;
        layoutA = la;
        layoutB = lb;
        layoutD = ld;
    }

    public LtMatmulSpec spec() { return spec; }

    /** Workspace the chosen algorithm needs; pass at least this much to {@link #run}. */
    public long workspaceBytes() { return workspaceBytes; }

    /**
     * D = epilogue(alpha op(A) op(B) + beta C), queued on {@code stream}.
     *
     * @param c         C, or 0 when {@code beta == 0} (then D is passed for C and never read); may equal {@code d}
     * @param bias      the bias (N values) for BIAS/GELU_BIAS, the bias-gradient output (M values) for BGRADB, else 0
     * @param workspace device memory of at least {@link #workspaceBytes()} bytes (0 when that is 0)
     */
    public void run(float alphaValue, long a, long b, float betaValue, long c, long d, long bias, long workspace,
                    long stream) {
        if (closed) throw new IllegalStateException("this cuBLASLt plan is closed");
        if (c == 0) {
            if (betaValue != 0f) throw new IllegalArgumentException("beta=" + betaValue + " needs a C pointer, got 0");
            c = d;
        }
        checkPointer("A", a);
        checkPointer("B", b);
        checkPointer("C", c);
        checkPointer("D", d);
        Epilogue e = spec.epilogue();
        if (e.readsBias() || e.writesBias()) {
            checkPointer("bias", bias);
            if (bias != currentBias) {
                biasPointer.set(JAVA_LONG, 0, bias);
                setDesc(desc, CublasLtAbi.DESC_BIAS_POINTER, biasPointer, 8);
                currentBias = bias;
            }
        } else if (bias != 0) {
            throw new IllegalArgumentException("epilogue " + e + " takes no bias, got 0x" + Long.toHexString(bias));
        }
        if (workspaceBytes > 0 && workspace == 0) {
            throw new IllegalArgumentException("this plan needs " + workspaceBytes + " bytes of workspace, got 0");
        }
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        int st;
        try {
            // cuBLASLt's A is the engine's B and its B the engine's A (see the class comment).
            st = (int) CublasLtNative.MATMUL.invokeExact(lt, desc, alpha, b, layoutA, a, layoutB, beta, c, layoutD,
                    d, layoutD, algo, workspace, workspaceBytes, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cublasLtMatmul downcall failed", t);
        }
        CublasLtNative.check("cublasLtMatmul", st);
    }

    private void checkPointer(String what, long p) {
        if (p == 0) throw new IllegalArgumentException(what + " is a null device pointer (" + spec + ")");
        if ((p & (spec.alignmentBytes() - 1)) != 0) {
            throw new IllegalArgumentException(what + "=0x" + Long.toHexString(p) + " is not aligned to the "
                    + spec.alignmentBytes() + " bytes this plan was made for");
        }
    }

    private static MemorySegment put(MemorySegment s, int v) {
        s.set(JAVA_INT, 0, v);
        return s;
    }

    private static MemorySegment put(MemorySegment s, long v) {
        s.set(JAVA_LONG, 0, v);
        return s;
    }

    /** Scale type float: every {@link ComputeType} takes float alpha/beta. */
    private static long createDesc(ComputeType compute) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            CublasLtNative.check("cublasLtMatmulDescCreate", (int) CublasLtNative.DESC_CREATE.invokeExact(out,
                    compute.value(), CudaDataType.F32.value()));
            return out.get(JAVA_LONG, 0);
        }
    }

    private static long createPreference() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            CublasLtNative.check("cublasLtMatmulPreferenceCreate", (int) CublasLtNative.PREF_CREATE.invokeExact(out));
            return out.get(JAVA_LONG, 0);
        }
    }

    private static long layout(CudaDataType type, int rows, int cols, int ld) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            CublasLtNative.check("cublasLtMatrixLayoutCreate", (int) CublasLtNative.LAYOUT_CREATE.invokeExact(out,
                    type.value(), (long) rows, (long) cols, (long) ld));
            return out.get(JAVA_LONG, 0);
        }
    }

    private static void setDesc(long desc, int attr, MemorySegment value, long bytes) {
        int st;
        try {
            st = (int) CublasLtNative.DESC_SET.invokeExact(desc, attr, value, bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("cublasLtMatmulDescSetAttribute downcall failed", t);
        }
        if (st != 0) CublasLtNative.check("cublasLtMatmulDescSetAttribute(attr " + attr + ")", st);
    }

    private static void setPref(long pref, int attr, MemorySegment value, long bytes) throws Throwable {
        int st = (int) CublasLtNative.PREF_SET.invokeExact(pref, attr, value, bytes);
        if (st != 0) CublasLtNative.check("cublasLtMatmulPreferenceSetAttribute(attr " + attr + ")", st);
    }

    private static void destroy(MethodHandle h, String call, long object) throws Throwable {
        CublasLtNative.check(call, (int) h.invokeExact(object));
    }

    private static void quietDestroy(MethodHandle h, long object) {
        try {
            int _ = (int) h.invokeExact(object);
        } catch (Throwable _) {
            // already unwinding a failure: the first error is the one to report
        }
    }

    /** Destroys the descriptor and layouts. A second close does nothing. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            destroy(CublasLtNative.LAYOUT_DESTROY, "cublasLtMatrixLayoutDestroy", layoutD);
            destroy(CublasLtNative.LAYOUT_DESTROY, "cublasLtMatrixLayoutDestroy", layoutB);
            destroy(CublasLtNative.LAYOUT_DESTROY, "cublasLtMatrixLayoutDestroy", layoutA);
            destroy(CublasLtNative.DESC_DESTROY, "cublasLtMatmulDescDestroy", desc);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cuBLASLt destroy downcall failed", t);
        } finally {
            arena.close();
        }
    }
}
