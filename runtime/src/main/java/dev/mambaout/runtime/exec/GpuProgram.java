package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.MemoryPlanner;
import dev.mambaout.natives.blas.CublasLt;
import dev.mambaout.natives.blas.LtMatmul;
import dev.mambaout.natives.blas.LtMatmulSpec;
import dev.mambaout.runtime.CudaGraph;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.DeviceArena;
import dev.mambaout.runtime.Event;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.PinnedBuffer;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One forward graph lowered for the GPU at one input shape: its steps placed in one activation arena (planned over
 * the lowered steps, scratch included), every launch and GEMM prepared once, and after the first run the whole
 * forward captured as one CUDA graph that each later {@link #run()} replays. Nothing is allocated on the device
 * after construction; a run creates no Java objects.
 * <p>
 * Not thread-safe: one thread at a time (the inference API serialises callers).
 */
public final class GpuProgram implements AutoCloseable {

    /** What one step of the program costs, from {@link #profile}. */
    public record StepTime(String name, String kernel, double medianMs, long bytes, double flops) {}

    private final Device device;
    private final Precision precision;
    private final Stream stream;
    private final CublasLt lt;
    private final DeviceArena arena;
    private final List<Lowering.Step> steps;
    private final List<Lowering.Exec> execs = new ArrayList<>();
    private final Map<String, Tensor> inputs = new LinkedHashMap<>();
    private final Map<String, Tensor> outputs = new LinkedHashMap<>();
    private final PinnedBuffer staging;
    private final Interleave interleave;
    private CudaGraph captured;
    private boolean closed;

    /**
     * Work queued between the program's steps on other streams (a training step's gradient all-reduce), ordered
     * against the program's stream with events; called in the same places on the eager first run and in the
     * capture, so it is captured too. Not called by {@link #profile}, which times the steps alone.
     */
    interface Interleave {
        /** Step {@code step} has just been queued on {@code stream}. */
        void afterStep(int step, Stream stream);
    }

    GpuProgram(Device device, Precision precision, Lowering.Result lowered, WeightViews weights) {
        this(device, precision, lowered, weights, null);
    }

    GpuProgram(Device device, Precision precision, Lowering.Result lowered, WeightViews weights, Interleave interleave) {
        this.device = device;
        this.interleave = interleave;
        this.precision = precision;
        this.steps = lowered.steps();
        device.makeCurrent();
        List<Lowering.Buffer> bufs = new ArrayList<>(lowered.buffers().values());
        MemoryPlanner.Placement placement = place(lowered);
        // One GEMM workspace after the activations: the steps run one after another on one stream.
        long workspaceBytes = LtMatmulSpec.DEFAULT_WORKSPACE;
        long wsOffset = (placement.peakBytes() + 255) / 256 * 256;
        Stream st = null;
        CublasLt handle = null;
        DeviceArena a = null;
        PinnedBuffer pin = null;
        try {
            st = device.newStream();
            handle = CublasLt.open();
            a = device.newArena(wsOffset + workspaceBytes);
            Map<Integer, Tensor> placed = new HashMap<>();
            for (int i = 0; i < bufs.size(); i++) {
                placed.put(bufs.get(i).id(), a.at(placement.offsets()[i], bufs.get(i).dtype(), bufs.get(i).shape()));
            }
            long ws = a.base() + wsOffset;
            long io = 4;
            for (Lowering.Buffer b : lowered.inputs()) {
                inputs.put(b.name(), placed.get(b.id()));
                io = Math.max(io, b.bytes());
            }
            for (Lowering.Buffer b : lowered.outputs()) {
                outputs.put(b.name(), placed.get(b.id()));
                io = Math.max(io, b.bytes());
            }
            pin = device.newPinned(io);
            CublasLt ltHandle = handle;
            KernelModules modules = device.modules();
            int smCount = device.info().smCount();
            Lowering.Binder binder = new Lowering.Binder() {
                public Tensor act(Lowering.Buffer b) { return placed.get(b.id()); }

                public Tensor weight(Lowering.Weight w) { return weights.get(w); }

                public KernelModules modules() { return modules; }

                public LtMatmul plan(LtMatmulSpec spec) { return ltHandle.plan(spec); }

                public long workspace() { return ws; }

                public int smCount() { return smCount; }
            };
            for (Lowering.Step s : steps) execs.add(s.maker().apply(binder));
        } catch (RuntimeException | Error e) {
            for (Lowering.Exec x : execs) x.close();
            if (pin != null) pin.close();
            if (a != null) a.close();
            if (handle != null) handle.close();
            if (st != null) st.close();
            throw e;
        }
        this.stream = st;
        this.lt = handle;
        this.arena = a;
        this.staging = pin;
    }

    /**
     * Places every buffer of a lowering (in the order of {@code lowered.buffers()}): lifetimes over the lowered steps,
     * inputs live before the first step, outputs to the end.
     */
    static MemoryPlanner.Placement place(Lowering.Result lowered) {
        List<Lowering.Buffer> bufs = new ArrayList<>(lowered.buffers().values());
        List<Lowering.Step> steps = lowered.steps();
        Map<Integer, Integer> index = new HashMap<>();
        for (int i = 0; i < bufs.size(); i++) index.put(bufs.get(i).id(), i);
        long[] bytes = new long[bufs.size()];
        int[] first = new int[bufs.size()], last = new int[bufs.size()];
        java.util.Arrays.fill(first, Integer.MIN_VALUE);
        for (int i = 0; i < bufs.size(); i++) bytes[i] = bufs.get(i).bytes();
        for (Lowering.Buffer b : lowered.inputs()) {
            first[index.get(b.id())] = -1;
            last[index.get(b.id())] = -1;
        }
        for (int s = 0; s < steps.size(); s++) {
            // A buffer may be written again (a training step's LayerNorm backward adds into a residual gradient):
            // it lives from its first write to its last use.
            for (Lowering.Buffer b : steps.get(s).writes()) {
                int i = index.get(b.id());
                if (first[i] == Integer.MIN_VALUE) first[i] = s;
                last[i] = s;
            }
            for (Lowering.Buffer b : steps.get(s).reads()) {
                int i = index.get(b.id());
                if (first[i] == Integer.MIN_VALUE) {
                    throw new IllegalStateException("step " + s + " (" + steps.get(s).name() + ") reads "
                            + b.name() + " before any step writes it");
                }
                last[i] = s;
            }
        }
        for (Lowering.Buffer b : lowered.outputs()) last[index.get(b.id())] = steps.size();
        for (int i = 0; i < bufs.size(); i++) {
            if (first[i] == Integer.MIN_VALUE) throw new IllegalStateException("no step writes " + bufs.get(i).name());
        }
        return MemoryPlanner.place(bytes, first, last);
    }

    /** Lowers and prepares {@code graph} with weights already on the device (they must cover its lowering). */
    public static GpuProgram build(Device device, Graph graph, Precision precision, GpuWeights weights) {
        Lowering.Result l = Lowering.lower(graph, precision);
        if (!weights.covers(l.weights())) {
            throw new IllegalArgumentException("these weights were uploaded for another model or precision than " + graph);
        }
        return new GpuProgram(device, precision, l, weights);
    }

    /** Lowers {@code graph} and uploads the weights its steps read, packed, into one new device buffer. */
    public static GpuWeights uploadWeights(Device device, Graph graph, Precision precision, WeightSource source) {
        return uploadWeights(device, List.of(graph), precision, source);
    }

    /**
     * Uploads, once, the weights that any of {@code graphs} reads (the same model's programs: logits only, or with
     * its features). A weight's key names its layout and type, and a bias takes its GEMM output's type, so programs
     * whose activations differ in storage (a caller-read tensor kept f32, as the f32 residual stream does) need
     * weights the other lacks.
     */
    public static GpuWeights uploadWeights(Device device, List<Graph> graphs, Precision precision, WeightSource source) {
        Map<String, Lowering.Weight> union = new LinkedHashMap<>();
        for (Graph g : graphs) for (Lowering.Weight w : Lowering.lower(g, precision).weights()) union.putIfAbsent(w.key(), w);
        device.makeCurrent();
        try (Stream s = device.newStream()) {
            return GpuWeights.upload(device, s, List.copyOf(union.values()), source);
        }
    }

    public Precision precision() { return precision; }

    /** The program's input buffer (float, the graph input's shape). */
    public Tensor input(String name) { return lookup(inputs, name, "input"); }

    public Tensor output(String name) { return lookup(outputs, name, "output"); }

    /** Bytes of the activation arena (plan peak plus the GEMM workspace). */
    public long arenaBytes() { return arena.capacity(); }

    public int stepCount() { return steps.size(); }

    /** Copies {@code bytes} of NCHW float input from host memory into the input buffer (queued, not waited for). */
    public void setInput(String name, MemorySegment src) {
        checkOpen();
        Tensor t = input(name);
        if (src.byteSize() != t.bytes()) {
            throw new IllegalArgumentException("input '" + name + "' takes " + t.numel() + " floats " + t.shape()
                    + ", got " + src.byteSize() / 4.0);
        }
        // The copy is queued on the stream: the staging buffer must not be reused until it is done.
        stream.synchronize();
        MemorySegment.copy(src, 0, staging.segment(), 0, t.bytes());
        staging.uploadAsync(t, stream);
    }

    /** Queues the whole forward: the first call runs the steps one by one and captures them; later calls replay. */
    public void run() {
        checkOpen();
        if (captured == null) {
            // cuBLASLt and the module loader do lazy work on a first call; that must stay out of the capture.
            queueSteps();
            stream.synchronize();
            captured = CudaGraph.capture(device.driver(), stream, this::queueSteps);
            return;
        }
        captured.replay(stream);
    }

    private void queueSteps() {
        for (int i = 0; i < execs.size(); i++) {
            execs.get(i).run(stream);
            if (interleave != null) interleave.afterStep(i, stream);
        }
    }

    /** Waits for the queued work, then copies output {@code name} into {@code dst} as floats. */
    public void readOutput(String name, float[] dst, int offset) {
        checkOpen();
        Tensor t = output(name);
        int n = Math.toIntExact(t.numel());
        if (offset < 0 || offset + n > dst.length) {
            throw new IllegalArgumentException("output '" + name + "' has " + n + " values; dst holds " + dst.length
                    + " from offset " + offset);
        }
        staging.downloadAsync(t, stream);
        stream.synchronize();
        MemorySegment seg = staging.segment();
        if (t.dtype() == DType.F32) {
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 0, dst, offset, n);
        } else {
            for (int i = 0; i < n; i++) dst[offset + i] = DType.bf16ToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT, i));
        }
    }

    public void synchronize() { stream.synchronize(); }

    public Stream stream() { return stream; }

    /**
     * Runs every step alone between events, {@code reps} times after one warm-up, and returns each step's median.
     * For the profiler: the sum is larger than a graph replay (each step pays its own launch).
     */
    public List<StepTime> profile(int reps) {
        checkOpen();
        if (reps < 1) throw new IllegalArgumentException("reps must be >= 1, got " + reps);
        List<StepTime> out = new ArrayList<>();
        try (Event a = device.newEvent(); Event b = device.newEvent()) {
            for (Lowering.Exec x : execs) x.run(stream);
            stream.synchronize();
            for (int s = 0; s < steps.size(); s++) {
                float[] ms = new float[reps];
                for (int r = 0; r < reps; r++) {
                    a.record(stream);
                    execs.get(s).run(stream);
                    b.record(stream);
                    b.synchronize();
                    ms[r] = a.elapsedMsTo(b);
                }
                java.util.Arrays.sort(ms);
                Lowering.Step st = steps.get(s);
                out.add(new StepTime(st.name(), st.kernel(), ms[reps / 2], st.bytes(), st.flops()));
            }
        }
        return out;
    }

    private static Tensor lookup(Map<String, Tensor> m, String name, String what) {
        Tensor t = m.get(name);
        if (t == null) throw new IllegalArgumentException("no " + what + " '" + name + "'; the program has " + m.keySet());
        return t;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("this GPU program is closed");
    }

    /** Frees the arena, the plans and the captured graph; the shared weights stay (their owner closes them). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        device.makeCurrent();
        try {
            stream.synchronize();
        } finally {
            if (captured != null) captured.close();
            for (Lowering.Exec x : execs) x.close();
            staging.close();
            arena.close();
            lt.close();
            stream.close();
        }
    }
}
