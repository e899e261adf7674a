package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.TrainingGraph;
import dev.mambaout.kernels.AdamWKernels;
import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.DeviceArena;
import dev.mambaout.runtime.PinnedBuffer;
import dev.mambaout.runtime.Tensor;
import dev.mambaout.runtime.dist.Communicator;
import dev.mambaout.runtime.dist.GradientBuckets;
import dev.mambaout.runtime.launch.AdamWLaunch;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One training step on the GPU: forward, loss, backward and AdamW as one {@link GpuProgram} (captured once, replayed
 * per step), over flat device state that this object owns: f32 master weights, gradients, both moments, the bf16
 * working copy (bf16 programs), the step's hyperparameters and AdamW's workspace. The host sees the state in
 * PyTorch's layout ({@link #setState}, {@link #weights}, ...); on the device each parameter is stored as its kernel
 * reads it (see {@link TrainingLowering.Param}).
 * <p>
 * A {@link #step} queues the hyperparameters' upload and the replay on the program's stream; {@link #loss()},
 * {@link #logits} and {@link #gradNorm()} wait for it. Not thread-safe.
 * <p>
 * Data parallel: built with a {@link Communicator}, every step all-reduces the mean of the ranks' gradients in
 * buckets overlapped with the backward pass ({@link GradientAllReduce}), inside the same graph, so every rank applies
 * the same update; {@link #broadcastState} makes the ranks start from rank 0's state. Each rank's {@link #loss()}
 * and {@link #logits} are its own batch's.
 */
public final class GpuTrainProgram implements AutoCloseable {

    private final Device device;
    private final TrainingLowering.Result lowered;
    private final DeviceArena state;
    private final Tensor master, grad, m, v, bf16, hyper, norm;
    private final Map<DType, Tensor> ones = new EnumMap<>(DType.class);
    private final Map<String, TrainingLowering.Param> byName = new LinkedHashMap<>();
    private final PinnedBuffer hyperStaging;
    /** Host side of whole-state transfers (set-up, checkpoints, tests); not touched by {@link #step}. */
    private final PinnedBuffer transfer;
    private final GpuProgram program;
    private final GradientAllReduce allReduce;
    private long sampleOffset;
    private boolean closed;

    private GpuTrainProgram(Device device, Precision precision, TrainingLowering.Result lowered, Communicator comm) {
        this.device = device;
        this.lowered = lowered;
        for (TrainingLowering.Param p : lowered.params()) byName.put(p.name(), p);
        long n = lowered.layout().total();
        boolean halves = precision.storage() == DType.BF16;
        device.makeCurrent();
        long bytes = 4 * align(n * 4) + align(n * 2) + 3 * 256 + align(AdamWKernels.WORKSPACE_BYTES)
                + 2 * align((long) Math.max(lowered.onesRows(), 1) * 4);
        DeviceArena a = device.newArena(bytes);
        PinnedBuffer hs = null, tr = null;
        GpuProgram prog = null;
        GradientAllReduce sync = null;
        try {
            Shape flat = Shape.of(Math.toIntExact(n));
            master = a.allocate(DType.F32, flat, TrainingLowering.FLAT_MASTER);
            grad = a.allocate(DType.F32, flat, TrainingLowering.FLAT_GRAD);
            m = a.allocate(DType.F32, flat, TrainingLowering.FLAT_M);
            v = a.allocate(DType.F32, flat, TrainingLowering.FLAT_V);
            bf16 = halves ? a.allocate(DType.BF16, flat, TrainingLowering.FLAT_BF16) : null;
            hyper = a.allocate(DType.F64, Shape.of(AdamWKernels.HYPER_DOUBLES), TrainingLowering.HYPER);
            norm = a.allocate(DType.F32, Shape.of(1), TrainingLowering.GRAD_NORM);
            Tensor ws = a.allocate(DType.F32, Shape.of(AdamWKernels.WORKSPACE_BYTES / 4), TrainingLowering.ADAMW_WORKSPACE);
            hs = device.newPinned(AdamWKernels.HYPER_BYTES);
            tr = device.newPinned(Math.max(n * 4, 8));
            int rows = Math.max(lowered.onesRows(), 1);
            for (Lowering.Weight w : lowered.program().weights()) {
                if (w.key().startsWith(TrainingLowering.ONES) && !ones.containsKey(w.dtype())) {
                    ones.put(w.dtype(), a.allocate(w.dtype(), Shape.of(rows), "ones " + w.dtype()));
                }
            }
            Tensor wsT = ws;
            WeightViews views = w -> resolve(w, wsT);
            if (comm != null) sync = GradientAllReduce.plan(device, comm, grad.address(), lowered, GradientBuckets.Caps.DDP);
            prog = new GpuProgram(device, precision, lowered.program(), views, sync);
            // Padding between slices (and the im2col columns past k*k*Cin) must stay zero in every flat buffer.
            var s = prog.stream();
            for (Tensor t : new Tensor[] {master, grad, m, v}) device.driver().memsetD32Async(t.address(), 0, n, s.handle());
            if (bf16 != null) device.driver().memsetD8Async(bf16.address(), (byte) 0, n * 2, s.handle());
            for (Tensor o : ones.values()) {
                // 1.0 as f32 bits, or twice as bf16 in one 32-bit word (a slice is 256-byte aligned: the last word fits).
                int bits = o.dtype() == DType.BF16 ? (DType.floatToBf16(1f) & 0xFFFF) * 0x10001 : Float.floatToRawIntBits(1f);
                device.driver().memsetD32Async(o.address(), bits, (o.bytes() + 3) / 4, s.handle());
            }
            s.synchronize();
        } catch (RuntimeException | Error e) {
            if (prog != null) prog.close();
            if (sync != null) sync.close();
            if (tr != null) tr.close();
            if (hs != null) hs.close();
            a.close();
            throw e;
        }
        this.state = a;
        this.hyperStaging = hs;
        this.transfer = tr;
        this.program = prog;
        this.allReduce = sync;
    }

    /**
     * Lowers {@code training} for {@code precision} and allocates its state (zero until {@link #setState}).
     *
     * @param logits the forward tensor read back after each step (accuracy)
     * @param decays which parameters get weight decay (timm: rank > 1 and not a bias)
     */
    public static GpuTrainProgram build(Device device, TrainingGraph training, dev.mambaout.graph.Tensor logits,
                                        Precision precision, Predicate<dev.mambaout.graph.Tensor> decays) {
        return build(device, training, logits, precision, decays, null);
    }

    /**
     * As {@link #build(Device, TrainingGraph, dev.mambaout.graph.Tensor, Precision, Predicate)}, one rank of a data
     * parallel group when {@code comm} is not null (this device's communicator; the caller keeps and closes it).
     */
    public static GpuTrainProgram build(Device device, TrainingGraph training, dev.mambaout.graph.Tensor logits,
                                        Precision precision, Predicate<dev.mambaout.graph.Tensor> decays,
                                        Communicator comm) {
        TrainingLowering.Result r = TrainingLowering.lower(training, logits, precision, device.info().smCount(), decays);
        return new GpuTrainProgram(device, precision, r, comm);
    }

    private Tensor resolve(Lowering.Weight w, Tensor workspace) {
        String k = w.key();
        Tensor t;
        if (k.startsWith(TrainingLowering.MASTER)) t = slice(master, k.substring(TrainingLowering.MASTER.length()));
        else if (k.startsWith(TrainingLowering.GRAD)) t = slice(grad, k.substring(TrainingLowering.GRAD.length()));
        else if (k.startsWith(TrainingLowering.BF16)) t = slice(bf16, k.substring(TrainingLowering.BF16.length()));
        else if (k.startsWith(TrainingLowering.ONES)) t = ones.get(w.dtype()).view(0, w.shape());
        else {
            t = switch (k) {
                case TrainingLowering.FLAT_MASTER -> master;
                case TrainingLowering.FLAT_GRAD -> grad;
                case TrainingLowering.FLAT_M -> m;
                case TrainingLowering.FLAT_V -> v;
                case TrainingLowering.FLAT_BF16 -> bf16;
                case TrainingLowering.HYPER -> hyper;
                case TrainingLowering.ADAMW_WORKSPACE -> workspace;
                case TrainingLowering.GRAD_NORM -> norm;
                default -> throw new IllegalStateException("the training state has no buffer for weight key '" + k + "'");
            };
        }
        if (t == null || t.dtype() != w.dtype() || !t.shape().equals(w.shape())) {
            throw new IllegalStateException("weight key '" + k + "' wants " + w.dtype() + " " + w.shape() + ", the state has "
                    + (t == null ? "nothing" : t.dtype() + " " + t.shape()));
        }
        return t;
    }

    private Tensor slice(Tensor flat, String name) {
        TrainingLowering.Param p = byName.get(name);
        if (p == null || flat == null) throw new IllegalStateException("no parameter '" + name + "' in the training state");
        return flat.view(lowered.layout().offset(p.index()), p.stored());
    }

    /** The trained parameters' names (the graph's), in the order of the flat layout's parameter indices. */
    public List<String> parameterNames() { return List.copyOf(byName.keySet()); }

    /** A parameter's shape in PyTorch's layout. */
    public Shape shape(String name) { return param(name).torchShape(); }

    /** Elements of each flat state buffer (the parameters, aligned slices). */
    public long stateElements() { return lowered.layout().total(); }

    /** Bytes of device memory: the flat state plus the program's activation arena. */
    public long deviceBytes() { return state.capacity() + program.arenaBytes(); }

    public int stepCount() { return program.stepCount(); }

    /**
     * Uploads weights and both moments (PyTorch layout, every parameter; moments may be null for zeros) and the bf16
     * working copy made from the weights.
     */
    public void setState(Map<String, float[]> weights, Map<String, float[]> expAvg, Map<String, float[]> expAvgSq) {
        checkOpen();
        upload(master, weights, "weights");
        if (bf16 != null) {
            // The bf16 copy is what the forward multiplies; AdamW rewrites it from the master after each update. Made
            // from the packed master still in the staging buffer, in place: short i lands on bytes already read.
            MemorySegment seg = transfer.segment();
            long n = master.numel();
            for (long i = 0; i < n; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT, i,
                    DType.floatToBf16(seg.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
            transfer.uploadAsync(bf16, program.stream());
            program.synchronize();
        }
        upload(m, expAvg, "exp_avg");
        upload(v, expAvgSq, "exp_avg_sq");
    }

    /**
     * Data parallel: every rank takes rank 0's weights, moments and bf16 copy (collective: every rank calls it, after
     * its own {@link #setState}).
     */
    public void broadcastState() {
        checkOpen();
        if (allReduce == null) throw new IllegalStateException("this training program is not data parallel");
        Communicator c = allReduce.communicator();
        long s = program.stream().handle();
        program.synchronize();
        c.group(() -> {
            for (Tensor t : new Tensor[] {master, m, v}) c.broadcast(t.address(), t.numel(), NcclDataType.FLOAT32, 0, s);
            if (bf16 != null) c.broadcast(bf16.address(), bf16.numel(), NcclDataType.BFLOAT16, 0, s);
        });
        program.synchronize();
    }

    /**
     * Data parallel: the index of this rank's first sample in the global batch, from which drop_path keys the masks
     * of this rank's samples (0, the default, on one GPU).
     */
    public void setSampleOffset(long offset) {
        if (offset < 0) throw new IllegalArgumentException("sample offset must be >= 0, got " + offset);
        this.sampleOffset = offset;
    }

    /** Data parallel: the all-reduce buckets of the gradients, in the order they are issued (null otherwise). */
    public GradientBuckets gradientBuckets() { return allReduce == null ? null : allReduce.buckets(); }

    public Map<String, float[]> weights() { return unpack(master); }

    public Map<String, float[]> expAvg() { return unpack(m); }

    public Map<String, float[]> expAvgSq() { return unpack(v); }

    /** The gradients of the last step (before clipping: AdamW scales them on the fly, not in memory). */
    public Map<String, float[]> gradients() { return unpack(grad); }

    /** Copies one batch (NCHW float images, int labels) into the program's inputs. */
    public void setBatch(MemorySegment images, MemorySegment labels) {
        checkOpen();
        List<Lowering.Buffer> in = lowered.program().inputs();
        for (Lowering.Buffer b : in) program.setInput(b.name(), b.dtype() == DType.I32 ? labels : images);
    }

    /** Queues one training step: forward, backward and the AdamW update with {@code h}. */
    public void step(AdamWKernels.Hyper h) {
        checkOpen();
        // The pinned hyperparameters of the previous step may still be in flight.
        program.synchronize();
        AdamWLaunch.writeHyper(hyperStaging, h);
        hyperStaging.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, AdamWKernels.HYPER_SAMPLE_OFFSET, (double) sampleOffset);
        hyperStaging.uploadAsync(hyper, program.stream());
        program.run();
    }

    /** The mean loss of the last step's batch (waits for it). */
    public double loss() {
        float[] l = new float[1];
        program.readOutput(lowered.loss().name(), l, 0);
        return l[0];
    }

    /** The last step's logits [batch, classes] before the update (waits for it). */
    public void logits(float[] dst) { program.readOutput(lowered.logits().name(), dst, 0); }

    /** The global L2 norm of the last step's gradients before clipping (waits for it). */
    public double gradNorm() {
        checkOpen();
        program.synchronize();
        transfer.downloadAsync(norm, program.stream());
        program.synchronize();
        return transfer.getFloat(0);
    }

    /** Each step's median time, run alone between events (the profiler); the state changes as steps run. */
    public List<GpuProgram.StepTime> profile(int reps) { return program.profile(reps); }

    public GpuProgram program() { return program; }

    private TrainingLowering.Param param(String name) {
        TrainingLowering.Param p = byName.get(name);
        if (p == null) throw new IllegalArgumentException("no trained parameter '" + name + "'; the model has " + byName.keySet());
        return p;
    }

    private void upload(Tensor flat, Map<String, float[]> values, String what) {
        MemorySegment seg = transfer.segment();
        seg.asSlice(0, flat.bytes()).fill((byte) 0);
        if (values != null) {
            for (TrainingLowering.Param p : lowered.params()) {
                float[] src = values.get(p.name());
                if (src == null) throw new IllegalArgumentException(what + ": no values for '" + p.name() + "'");
                for (int i = 0; i < src.length; i++) {
                    if (!Float.isFinite(src[i])) {
                        throw new IllegalArgumentException(what + ": '" + p.name() + "' holds " + src[i] + " at element " + i);
                    }
                }
                float[] packed = p.pack(src);
                MemorySegment.copy(packed, 0, seg, ValueLayout.JAVA_FLOAT, lowered.layout().offset(p.index()) * 4, packed.length);
            }
        }
        program.synchronize();
        transfer.uploadAsync(flat, program.stream());
        program.synchronize();
    }

    private void download(Tensor flat) {
        checkOpen();
        program.synchronize();
        transfer.downloadAsync(flat, program.stream());
        program.synchronize();
    }

    private Map<String, float[]> unpack(Tensor flat) {
        download(flat);
        MemorySegment seg = transfer.segment();
        Map<String, float[]> out = new LinkedHashMap<>();
        for (TrainingLowering.Param p : lowered.params()) {
            float[] stored = new float[Math.toIntExact(p.numel())];
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, lowered.layout().offset(p.index()) * 4, stored, 0, stored.length);
            out.put(p.name(), p.unpack(stored));
        }
        return out;
    }

    private static long align(long b) { return (b + 255) / 256 * 256; }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("this GPU training program is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        device.makeCurrent();
        try {
            program.close();
            if (allReduce != null) allReduce.close();
        } finally {
            transfer.close();
            hyperStaging.close();
            state.close();
        }
    }
}
