package dev.mambaout.natives.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaException;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One cuBLASLt matrix product, planned once (descriptor, layouts, an algorithm) and run many times: {@link #run}
 * writes alpha, beta and (when it changed) the bias pointer into memory the plan owns and makes one
 * {@code cublasLtMatmul} call, allocating nothing, so it can be captured into a CUDA graph.
 *
 * <p>The algorithm is the heuristics' first usable one, or, for a plan made with an {@link LtAutotune}, the fastest
 * of the heuristics' top candidates timed on the caller's operands ({@link #tuning()} has every time).
 *
 * <p>Layout mapping (see {@link RowMajorGemm}): cuBLASLt computes the column-major D^T[N,M] = op(B)^T op(A)^T, so its
 * "A" operand is the engine's B and its "B" operand the engine's A. For a linear layer y[T,out] = x[T,in] W[out,in]^T
 * that is C^T = W x^T with cuBLAS A = W (op T, ld in), cuBLAS B = x (op N, ld in), ldc = out; the bias has one value
 * per output feature (cuBLASLt's "rows of D").
 *
 * <p>One plan is used by one thread at a time (its scalars are shared between calls).
 */
public final class LtMatmul implements AutoCloseable {

    /** How many algorithms an untuned plan asks the heuristics for: the first usable one is taken. */
    private static final int HEURISTIC_CANDIDATES = 8;

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
    private final LtTuning tuning;  // null for a plan that took the heuristics' first choice
    private long workspaceBytes;    // set once while planning (autotune tries each candidate's), then fixed
    private long currentBias;
    private LtAlgo described;
    private boolean closed;

    /** @param tune null for the heuristics' first usable algorithm */
    LtMatmul(long lt, LtMatmulSpec spec, LtAutotune tune) {
        this.lt = lt;
        this.spec = spec;
        if (tune != null) tune.operands().checkAgainst(spec);
        ColumnMajorGemm g = spec.shape().columnMajor();
        long d = 0, la = 0, lb = 0, ld = 0, pref = 0;
        try (Arena tmp = Arena.ofConfined()) {
            alpha = arena.allocate(JAVA_FLOAT);
            beta = arena.allocate(JAVA_FLOAT);
            biasPointer = arena.allocate(JAVA_LONG);
            algo = arena.allocate(CublasLtAbi.ALGO_BYTES, 8);
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

            int requested = tune == null ? HEURISTIC_CANDIDATES : tune.candidates();
            MemorySegment results = tmp.allocate(CublasLtAbi.HEURISTIC_RESULT, requested);
            MemorySegment count = tmp.allocate(JAVA_INT);
            CublasLtNative.check("cublasLtMatmulAlgoGetHeuristic", (int) CublasLtNative.HEURISTIC.invokeExact(
                    lt, d, la, lb, ld, ld, pref, requested, results, count));
            int n = count.get(JAVA_INT, 0);
            destroy(CublasLtNative.PREF_DESTROY, "cublasLtMatmulPreferenceDestroy", pref);
            pref = 0;
            // The plan's own fields must be set before run() can time candidates.
            desc = d;
            layoutA = la;
            layoutB = lb;
            layoutD = ld;
            if (tune == null) {
                MemorySegment chosen = firstUsable(results, n, g);
                algo.copyFrom(chosen.asSlice(0, CublasLtAbi.ALGO_BYTES));
                workspaceBytes = chosen.get(JAVA_LONG, CublasLtAbi.RESULT_WORKSPACE);
                tuning = null;
            } else {
                tuning = autotune(results, n, tune, g);
                MemorySegment chosen = results.asSlice(tuning.best().rank() * CublasLtAbi.HEURISTIC_RESULT.byteSize(),
                        CublasLtAbi.HEURISTIC_RESULT.byteSize());
                algo.copyFrom(chosen.asSlice(0, CublasLtAbi.ALGO_BYTES));
                workspaceBytes = tuning.best().workspaceBytes();
            }
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
    }

    private MemorySegment firstUsable(MemorySegment results, int n, ColumnMajorGemm g) {
        long stride = CublasLtAbi.HEURISTIC_RESULT.byteSize();
        for (int i = 0; i < n; i++) {
            MemorySegment r = results.asSlice(i * stride, stride);
            if (r.get(JAVA_INT, CublasLtAbi.RESULT_STATE) == 0
                    && r.get(JAVA_LONG, CublasLtAbi.RESULT_WORKSPACE) <= spec.maxWorkspaceBytes()) {
                return r;
            }
        }
        throw new UnsupportedOperationException("cuBLASLt has no algorithm for " + spec + " (" + g
                + "); the heuristics returned " + n + " candidate(s) and none fit. Try another epilogue, data"
                + " type, a larger workspace or a looser alignment");
    }

    /**
     * Times the heuristics' candidates as {@link LtAutotune} describes and returns what was measured; leaves
     * {@link #algo} and {@link #workspaceBytes} at the last candidate tried (the caller sets the chosen one).
     */
    private LtTuning autotune(MemorySegment results, int n, LtAutotune tune, ColumnMajorGemm g) {
        if (n == 0) {
            throw new UnsupportedOperationException("cuBLASLt has no algorithm for " + spec + " (" + g
                    + "); the heuristics returned no candidate. Try another epilogue, data type, a larger"
                    + " workspace or a looser alignment");
        }
        LtOperands op = tune.operands();
        CudaDriver drv = tune.driver();
        long stride = CublasLtAbi.HEURISTIC_RESULT.byteSize();
        LtCandidate[] out = new LtCandidate[n];
        LtAlgo[] algos = new LtAlgo[n];
        long[] need = new long[n];
        float[] waves = new float[n];
        long[] graphs = new long[n];
        long[] execs = new long[n];
        int[] timed = new int[n];
        int nTimed = 0;
        long[] events = new long[0];
        try {
            for (int i = 0; i < n; i++) {
                MemorySegment r = results.asSlice(i * stride, stride);
                need[i] = r.get(JAVA_LONG, CublasLtAbi.RESULT_WORKSPACE);
                waves[i] = r.get(JAVA_FLOAT, CublasLtAbi.RESULT_WAVES);
                int state = r.get(JAVA_INT, CublasLtAbi.RESULT_STATE);
                if (state != 0) {
                    out[i] = new LtCandidate.Rejected(i, null, need[i], waves[i], "the heuristics flagged it: "
                            + CublasLtNative.statusName(state));
                    continue;
                }
                algos[i] = describe(r);
                if (need[i] > op.workspaceBytes()) {
                    out[i] = new LtCandidate.Rejected(i, algos[i], need[i], waves[i], "needs " + need[i]
                            + " bytes of workspace, the autotune was given " + op.workspaceBytes());
                    continue;
                }
                algo.copyFrom(r.asSlice(0, CublasLtAbi.ALGO_BYTES));
                workspaceBytes = need[i];
                try {
                    // Eager first: cuBLASLt may refuse an algorithm, and loads its kernel on first use (not capturable).
                    runWith(op);
                    drv.streamSynchronize(op.stream());
                } catch (CudaException e) {
                    if (!e.call().startsWith("cublasLt")) throw e;  // a CUDA error, not a refusal: nothing else would run
                    out[i] = new LtCandidate.Rejected(i, algos[i], need[i], waves[i], e.getMessage());
                    continue;
                }
                drv.streamBeginCapture(op.stream());
                try {
                    for (int k = 0; k < tune.runsPerSample(); k++) runWith(op);
                } catch (RuntimeException | Error e) {
                    try {
                        long broken = drv.streamEndCapture(op.stream());
                        if (broken != 0) drv.graphDestroy(broken);
                    } catch (RuntimeException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                    throw e;
                }
                graphs[i] = drv.streamEndCapture(op.stream());
                execs[i] = drv.graphInstantiate(graphs[i]);
                timed[nTimed++] = i;
            }
            if (nTimed > 0) {
                for (int w = 0; w < tune.warmups(); w++) {
                    for (int t = 0; t < nTimed; t++) drv.graphLaunch(execs[timed[t]], op.stream());
                }
                events = new long[tune.samples() * nTimed + 1];
                for (int e = 0; e < events.length; e++) events[e] = drv.eventCreate(true);
                // One unbroken chain of replays: each interval between consecutive events is one candidate's replay.
                drv.eventRecord(events[0], op.stream());
                for (int s = 0, e = 1; s < tune.samples(); s++) {
                    for (int t = 0; t < nTimed; t++, e++) {
                        drv.graphLaunch(execs[timed[t]], op.stream());
                        drv.eventRecord(events[e], op.stream());
                    }
                }
                drv.eventSynchronize(events[events.length - 1]);
                for (int t = 0; t < nTimed; t++) {
                    int i = timed[t];
                    List<Double> ms = new ArrayList<>(tune.samples());
                    for (int s = 0; s < tune.samples(); s++) {
                        int e = s * nTimed + t;
                        ms.add((double) drv.eventElapsedMs(events[e], events[e + 1]) / tune.runsPerSample());
                    }
                    out[i] = new LtCandidate.Timed(i, algos[i], need[i], waves[i], ms);
                }
            }
        } finally {
            for (long e : events) {
                if (e != 0) drv.eventDestroy(e);
            }
            for (int i = 0; i < n; i++) {
                if (execs[i] != 0) drv.graphExecDestroy(execs[i]);
                if (graphs[i] != 0) drv.graphDestroy(graphs[i]);
            }
        }
        return LtTuning.select(List.of(out));
    }

    private void runWith(LtOperands op) {
        run(op.alpha(), op.a(), op.b(), op.beta(), op.c(), op.d(), op.bias(), op.workspace(), op.stream());
    }

    /** Reads an algorithm's {@code CUBLASLT_ALGO_CONFIG_*} attributes (host only, no GPU work). */
    private static LtAlgo describe(MemorySegment algo) {
        int[] v = new int[CublasLtAbi.ALGO_CONFIG_ATTRIBUTES];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8, 8);
            MemorySegment written = a.allocate(JAVA_LONG);
            for (int attr = 0; attr < v.length; attr++) {
                // Attributes are 2 or 4 bytes and cuBLASLt wants the exact size: ask for it first (size 0 = query).
                CublasLtNative.check("cublasLtMatmulAlgoConfigGetAttribute(attr " + attr + ", size query)",
                        (int) CublasLtNative.ALGO_CONFIG_GET.invokeExact(algo, attr, MemorySegment.NULL, 0L, written));
                long size = written.get(JAVA_LONG, 0);
                if (size < 1 || size > 8) {
                    throw new IllegalStateException("cuBLASLt says algorithm attribute " + attr + " has " + size
                            + " bytes; expected 1 to 8");
                }
                buf.fill((byte) 0);
                CublasLtNative.check("cublasLtMatmulAlgoConfigGetAttribute(attr " + attr + ")",
                        (int) CublasLtNative.ALGO_CONFIG_GET.invokeExact(algo, attr, buf, size, written));
                v[attr] = (int) buf.get(JAVA_LONG, 0);  // little-endian: the zero-filled high bytes stay zero
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cublasLtMatmulAlgoConfigGetAttribute downcall failed", t);
        }
        return new LtAlgo(v[0], v[1], v[6], v[2], v[3], v[4], v[5], v[7], v[8]);
    }

    public LtMatmulSpec spec() { return spec; }

    /** Workspace the chosen algorithm needs; pass at least this much to {@link #run}. */
    public long workspaceBytes() { return workspaceBytes; }

    /** What autotuning measured, or empty for a plan that took the heuristics' first choice. */
    public Optional<LtTuning> tuning() { return Optional.ofNullable(tuning); }

    /** The algorithm this plan runs, read back from cuBLASLt on first use (host only). */
    public LtAlgo algo() {
        if (closed) throw new IllegalStateException("this cuBLASLt plan is closed");
        if (described == null) described = describe(algo);
        return described;
    }

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
        checkPointer(spec, "A", a);
        checkPointer(spec, "B", b);
        checkPointer(spec, "C", c);
        checkPointer(spec, "D", d);
        Epilogue e = spec.epilogue();
        if (e.readsBias() || e.writesBias()) {
            checkPointer(spec, "bias", bias);
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

    static void checkPointer(LtMatmulSpec spec, String what, long p) {
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
