package dev.mambaout.bench;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.kernels.GatedDwConvKernels;
import dev.mambaout.kernels.Im2colKernels;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.blas.ComputeType;
import dev.mambaout.natives.blas.CublasLt;
import dev.mambaout.natives.blas.CudaDataType;
import dev.mambaout.natives.blas.Epilogue;
import dev.mambaout.natives.blas.LtMatmul;
import dev.mambaout.natives.blas.LtMatmulSpec;
import dev.mambaout.natives.blas.RowMajorGemm;
import dev.mambaout.natives.cudnn.ConvPlan;
import dev.mambaout.natives.cudnn.ConvSpec;
import dev.mambaout.natives.cudnn.Cudnn;
import dev.mambaout.natives.cudnn.CudnnDataType;
import dev.mambaout.natives.cudnn.CudnnMathType;
import dev.mambaout.natives.cudnn.TensorFormat;
import dev.mambaout.natives.nvrtc.Nvrtc;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.DeviceArena;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;
import dev.mambaout.runtime.launch.GatedDwConvLaunch;
import dev.mambaout.runtime.launch.Im2colLaunch;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.mambaout.kernels.KernelArg.i32;
import static dev.mambaout.kernels.KernelArg.i64;
import static dev.mambaout.kernels.KernelArg.ptr;

/**
 * Our kernels against cuDNN (through the project's Panama binding) at MambaOut's batch-256 shapes, in one run:
 * <ol>
 *   <li>the gated block's token mixer: our fused depthwise 7x7 conv + gating kernel ({@link GatedDwConvLaunch}) vs
 *       cuDNN's depthwise conv ({@link ConvSpec#depthwise}) followed by a separate gate pass
 *       {@code act(g) * cat(i, conv + bias)} ({@link BenchKernels}, compiled through NVRTC), bf16 and f32;</li>
 *   <li>the stem and downsampling convs (3x3, stride 2, pad 1, bf16 NHWC, f32 accumulation): our im2col
 *       ({@link Im2colLaunch}) + the cuBLASLt GEMM the runtime's lowering plans (bias epilogue, heuristic first
 *       choice) vs {@code cudnnConvolutionForward} with the algorithm {@link ConvPlan} picks.</li>
 * </ol>
 * Timing (the project's rules): CUDA events around the timed work only, {@value #DEFAULT_WARMUP} warm-ups, median
 * (and p10/p90) of {@value #DEFAULT_REPS} runs, each run preceded by a {@value #FLUSH_MB} MB memset that evicts the
 * 60 MB L2 (and covers the host's enqueue time, so the events see no launch gap: the host enqueue time of each body
 * is recorded and a warning printed if it approaches the flush's GPU time), random inputs. Every pair is checked
 * against each other on the first image before it is timed.
 *
 * <p>What flatters cuDNN (so its numbers are lower bounds of a real cuDNN path): {@link ConvPlan} describes packed
 * tensors only ({@code cudnnSetTensor4dDescriptor}), so cuDNN's depthwise conv reads a contiguous [N,H,W,conv] copy
 * of the conv slice of fc1's output (made before timing, not timed) instead of the strided slice; cuDNN's stem and
 * downsampling convs have no bias (ours adds it in the GEMM epilogue); the stem's first conv gets its input already
 * cast to NHWC bf16 (the cast kernel is timed in its own column); the algorithm is cuDNN's heuristic first choice
 * (the binding has no Find mode), as is the GEMM's.
 *
 * <p>Usage: {@code CudnnCompare [--out FILE.json] [--reps N] [--warmup N] [--models femto,tiny] [--only gated|conv]}.
 * Exits 2 with one line on standard error when there is no CUDA device, cuDNN or NVRTC.
 */
public final class CudnnCompare {

    static final int DEFAULT_REPS = 30;
    static final int DEFAULT_WARMUP = 5;
    static final int FLUSH_MB = 256;
    private static final long FLUSH_BYTES = (long) FLUSH_MB << 20;
    private static final int BATCH = 256;
    private static final int IMAGE = 224;

    private final BenchGpu gpu;
    private final Device device;
    private final CudaDriver driver;
    private final Stream stream;
    private final Cudnn cudnn;
    private final CublasLt lt;
    private final BenchKernels bk;
    private final DeviceArena flush;
    private final int reps;
    private final int warmup;
    private double flushUs;
    private final List<String> warnings = new ArrayList<>();

    /** One timed body: median, p10, p90 of the event times, and the median host time to enqueue it. */
    record Timing(double us, double p10, double p90, double hostUs) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("medianUs", us);
            m.put("p10Us", p10);
            m.put("p90Us", p90);
            m.put("hostEnqueueUs", hostUs);
            return m;
        }
    }

    private CudnnCompare(BenchGpu gpu, Cudnn cudnn, CublasLt lt, BenchKernels bk, int reps, int warmup) {
        this.gpu = gpu;
        this.device = gpu.device();
        this.driver = gpu.driver();
        this.stream = gpu.stream();
        this.cudnn = cudnn;
        this.lt = lt;
        this.bk = bk;
        this.reps = reps;
        this.warmup = warmup;
        this.flush = device.newArena(FLUSH_BYTES);
    }

    public static void main(String[] args) throws IOException {
        Path out = null;
        int reps = DEFAULT_REPS, warmup = DEFAULT_WARMUP;
        List<String> models = List.of("femto", "tiny");
        String only = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!List.of("--out", "--reps", "--warmup", "--models", "--only").contains(a)) usage("unknown argument " + a);
            if (i + 1 >= args.length) usage("missing value after " + a);
            switch (a) {
                case "--out" -> out = Path.of(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--models" -> models = List.of(args[++i].split(","));
                case "--only" -> only = args[++i];
                default -> usage("unknown argument " + a);
            }
        }
        if (reps < 20) usage("--reps must be >= 20 (the project's timing rule), was " + reps);
        if (only != null && !only.equals("gated") && !only.equals("conv")) usage("--only takes gated or conv");
        List<MambaOutConfig> configs = models.stream().map(MambaOutConfig::variant).toList();

        CudaDriver.Backend backend;
        try {
            backend = Cuda.configuredBackend();
        } catch (IllegalArgumentException e) {
            fatal(e.getMessage());
            return;
        }
        Cuda.Availability av = Cuda.availability(backend);
        if (!av.available()) fatal("needs a CUDA GPU, and the " + backend + " backend found none: " + av.reason());

        Map<String, Object> json = new LinkedHashMap<>();
        try (BenchGpu gpu = BenchGpu.open(backend)) {
            Cudnn cudnn;
            try {
                cudnn = Cudnn.open();
            } catch (CudaUnavailableException e) {
                fatal("needs cuDNN 9 (libcudnn.so.9): " + e.getMessage());
                return;
            }
            BenchKernels bk;
            try {
                bk = new BenchKernels(gpu.device());
            } catch (CudaUnavailableException e) {
                cudnn.close();
                fatal("needs NVRTC for its helper kernels (libnvrtc.so.13/12): " + e.getMessage());
                return;
            }
            try (cudnn; bk; CublasLt lt = CublasLt.open()) {
                cudnn.setStream(gpu.stream().handle());
                CudnnCompare c = new CudnnCompare(gpu, cudnn, lt, bk, reps, warmup);
                try {
                    c.run(configs, only, json);
                } finally {
                    c.flush.close();
                }
            }
        }
        if (out != null) {
            Files.writeString(out, Json.write(json) + "\n");
            System.out.println("\nJSON written to " + out);
        }
    }

    private static void usage(String why) {
        fatal(why + "; usage: CudnnCompare [--out FILE.json] [--reps N>=20] [--warmup N] [--models femto,tiny]"
                + " [--only gated|conv]");
    }

    /** One line on standard error (multi-line reasons folded), exit status 2. */
    private static void fatal(String why) {
        System.err.println("CudnnCompare: " + String.valueOf(why).strip().replaceAll("\\s*\\n\\s*", " | "));
        System.exit(2);
    }

    // ------------------------------------------------------------------------------------------------ driver

    private void run(List<MambaOutConfig> configs, String only, Map<String, Object> json) {
        Device.Info info = device.info();
        json.put("device", info.name());
        json.put("smCount", info.smCount());
        json.put("l2Bytes", info.l2CacheBytes());
        json.put("cudnnVersion", Cudnn.version());
        json.put("cudnnLibrary", Cudnn.libraryPath());
        json.put("cublasLtVersion", CublasLt.version());
        json.put("nvrtc", Nvrtc.version().toString());
        json.put("batch", BATCH);
        json.put("reps", reps);
        json.put("warmup", warmup);
        json.put("flushBytes", FLUSH_BYTES);
        System.out.printf(Locale.ROOT, "CudnnCompare on %s (%d SMs, L2 %d MB); cuDNN %d (%s), cuBLASLt %d, NVRTC %s%n",
                info.name(), info.smCount(), info.l2CacheBytes() >> 20, Cudnn.version(), Cudnn.libraryPath(),
                CublasLt.version(), Nvrtc.version());
        if (info.l2CacheBytes() * 2L > FLUSH_BYTES) {
            warn("the L2 (" + (info.l2CacheBytes() >> 20) + " MB) is more than half the flush (" + FLUSH_MB + " MB)");
        }
        measureFloors(json);
        if (only == null || only.equals("gated")) json.put("gated", gated(configs));
        if (only == null || only.equals("conv")) json.put("conv", convs(configs));
        json.put("warnings", warnings);
        if (!warnings.isEmpty()) {
            System.out.println("\nWarnings:");
            for (String w : warnings) System.out.println("- " + w);
        }
    }

    private void warn(String w) {
        warnings.add(w);
        System.out.println("WARNING: " + w);
    }

    /** The flush's own GPU time (the most host enqueue time it can hide) and device-to-device copy bandwidth. */
    private void measureFloors(Map<String, Object> json) {
        long half = 512L << 20;
        try (DeviceArena a = device.newArena(2 * half)) {
            bk.fillUniform(stream, a.base(), 2 * half / 4, false, 7, 1f);
            flushUs = time(() -> driver.memsetD8Async(flush.base(), (byte) 1, FLUSH_BYTES, stream.handle())).us();
            Timing copy = time(() -> driver.memcpyDtoDAsync(a.base() + half, a.base(), half, stream.handle()));
            double gbps = 2.0 * half / (copy.us() * 1e3);
            json.put("flushUs", flushUs);
            json.put("copyGBps", gbps);
            System.out.printf(Locale.ROOT, "flush memset %d MB: %.1f us; D2D copy 512 MB: %.1f us = %.0f GB/s "
                    + "(read + write), the roof for the GB/s columns%n", FLUSH_MB, flushUs, copy.us(), gbps);
        }
    }

    /**
     * Times {@code body}: warm-ups, then {@link #reps} runs, each after an L2 flush, between two events on the
     * stream. The flush is queued before the start event, so the GPU is still busy with it while the host enqueues
     * the body: the events then time the GPU work alone (checked: host enqueue time vs the flush's GPU time).
     */
    private Timing time(Runnable body) {
        for (int i = 0; i < warmup; i++) {
            flushL2(i);
            body.run();
        }
        stream.synchronize();
        EventTimes t = new EventTimes(reps);
        t.recording(true);
        EventTimes host = new EventTimes(reps);
        host.recording(true);
        for (int r = 0; r < reps; r++) {
            flushL2(r);
            gpu.startTiming();
            long h0 = System.nanoTime();
            body.run();
            host.add((System.nanoTime() - h0) / 1e6f);
            t.add(gpu.stopTiming());
        }
        Timing tm = new Timing(t.median() * 1e3, t.quantile(0.1) * 1e3, t.quantile(0.9) * 1e3, host.median() * 1e3);
        if (flushUs > 0 && tm.hostUs() > 0.7 * flushUs) {
            warn(String.format(Locale.ROOT, "a body took %.1f us to enqueue, close to the flush's %.1f us: its event"
                    + " time (%.1f us) may include host gaps", tm.hostUs(), flushUs, tm.us()));
        }
        return tm;
    }

    private void flushL2(int r) {
        driver.memsetD8Async(flush.base(), (byte) r, FLUSH_BYTES, stream.handle());
    }

    // ------------------------------------------------------------------------------------------------ gated

    private List<Map<String, Object>> gated(List<MambaOutConfig> configs) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (boolean bf16 : new boolean[] {true, false}) {
            for (MambaOutConfig c : configs) {
                for (int s = 0; s < c.stages(); s++) {
                    int hw = IMAGE / 4 >> s;
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("model", c.name());
                    row.put("stage", s);
                    row.put("dtype", bf16 ? "bf16" : "f32");
                    row.put("n", BATCH);
                    row.put("h", hw);
                    row.put("w", hw);
                    row.put("hidden", c.hidden(s));
                    row.put("conv", c.convChannels(s));
                    row.put("k", c.kernelSize());
                    try {
                        gatedCase(row, bf16, hw, c.hidden(s), c.convChannels(s), c.kernelSize(),
                                c.act() == MambaOutConfig.Activation.GELU ? Activation.GELU : Activation.SILU);
                    } catch (RuntimeException e) {
                        row.put("error", e.toString());
                        System.out.println("gated " + c.name() + " s" + s + (bf16 ? " bf16" : " f32") + ": FAILED " + e);
                    }
                    rows.add(row);
                }
            }
        }
        System.out.println("\n### Gated block token mixer: fused kernel vs cuDNN depthwise conv + separate gate "
                + "(batch " + BATCH + ", NHWC, k = 7; us, median)\n");
        System.out.println("cuDNN reads a contiguous [N,H,W,conv] copy of the conv slice (the binding describes packed"
                + " tensors only), which flatters it; gate = our NVRTC kernel act(g) * cat(i, conv + bias), measured."
                + " ratio = (cuDNN + gate) / ours: > 1 means ours is faster.\n");
        System.out.println("| model | stage | dtype | tokens x hidden (conv) | ours | ours GB/s | cuDNN conv | cuDNN algo "
                + "| gate | gate GB/s | cuDNN + gate | ratio | check |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (Map<String, Object> r : rows) {
            String head = String.format(Locale.ROOT, "| %s | %s | %s | %d x %s (%s) | ", r.get("model"), r.get("stage"),
                    r.get("dtype"), BATCH * (int) r.get("h") * (int) r.get("w"), r.get("hidden"), r.get("conv"));
            if (r.containsKey("error")) {
                System.out.println(head + "failed: " + r.get("error") + " |");
                continue;
            }
            System.out.printf(Locale.ROOT, "%s%.1f | %.0f | %.1f | %s | %.1f | %.0f | %.1f | %.2f | %s |%n", head,
                    us(r, "ours"), (double) r.get("oursGBps"), us(r, "cudnnConv"), r.get("cudnnAlgo"), us(r, "gate"),
                    (double) r.get("gateGBps"), us(r, "cudnnPlusGate"), (double) r.get("ratio"), r.get("check"));
        }
        return rows;
    }

    private static double us(Map<String, Object> r, String key) {
        @SuppressWarnings("unchecked")
        Map<String, Object> t = (Map<String, Object>) r.get(key);
        return (double) t.get("medianUs");
    }

    private void gatedCase(Map<String, Object> row, boolean bf16, int hw, int hidden, int cc, int k, Activation act) {
        DType dt = bf16 ? DType.BF16 : DType.F32;
        int es = dt.bytes();
        int n = BATCH, tokens = n * hw * hw;
        long bytesX = (long) tokens * 2 * hidden * es, bytesOut = (long) tokens * hidden * es;
        long bytesConv = (long) tokens * cc * es;
        try (DeviceArena a = device.newArena(bytesX + 2 * bytesOut + 2 * bytesConv + (2L * k * k * cc + cc) * 4
                + 16 * 256)) {
            Tensor x = a.allocate(dt, Shape.nhwc(n, hw, hw, 2 * hidden));
            Tensor out = a.allocate(dt, Shape.nhwc(n, hw, hw, hidden));
            Tensor out2 = a.allocate(dt, Shape.nhwc(n, hw, hw, hidden));
            Tensor convIn = a.allocate(dt, Shape.nhwc(n, hw, hw, cc));
            Tensor convOut = a.allocate(dt, Shape.nhwc(n, hw, hw, cc));
            Tensor taps = a.allocate(DType.F32, Shape.of(k * k, cc));
            Tensor bias = a.allocate(DType.F32, Shape.of(cc));
            Tensor filter = a.allocate(dt, Shape.of(cc, 1, k, k));

            bk.fillUniform(stream, x.address(), x.numel(), bf16, 0x6a7e + hidden, 1f);
            SplittableRandom rnd = new SplittableRandom(17L * hidden + cc);
            float[] w = new float[cc * k * k];
            float[] b = new float[cc];
            for (int i = 0; i < w.length; i++) w[i] = roundIf(bf16, (float) (rnd.nextDouble(-1, 1) / k));
            for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextDouble(-0.1, 0.1);
            upload(taps, GatedDwConvKernels.packTapMajor(w, cc, k));
            upload(bias, b);
            upload(filter, w);
            // The conv slice of fc1's output, copied once into a packed tensor for cuDNN (not timed).
            int width = cc * es / 4, srcPitch = 2 * hidden * es / 4;
            try (Launch copy = bk.prepare(BenchKernels.COPY_ROWS, (long) tokens * width, ptr(convIn.address()),
                    ptr(x.address() + (long) (2 * hidden - cc) * es), i64(tokens), i32(width), i32(srcPitch),
                    i32(width))) {
                copy.launch(stream);
            }
            CudnnDataType cdt = bf16 ? CudnnDataType.BFLOAT16 : CudnnDataType.FLOAT;
            CudnnMathType math = bf16 ? CudnnMathType.DEFAULT : CudnnMathType.FMA;
            try (Launch fused = GatedDwConvLaunch.prepare(device.modules(), out, x, taps, bias, cc, k, act);
                 ConvPlan plan = cudnn.plan(ConvSpec.depthwise(n, cc, hw, hw, k, TensorFormat.NHWC, cdt, math));
                 Launch gate = bk.prepareGate(bf16, out2.address(), x.address(), convOut.address(), bias.address(),
                         tokens, hidden, cc, act.ordinal());
                 DeviceArena ws = device.newArena(Math.max(256, plan.forwardChoice().workspaceBytes()))) {
                long wsPtr = plan.forwardChoice().workspaceBytes() > 0 ? ws.base() : 0;
                Runnable conv = () -> plan.forward(1f, convIn.address(), filter.address(), 0f, convOut.address(), wsPtr);
                poison(out);
                poison(out2);
                fused.launch(stream);
                conv.run();
                gate.launch(stream);
                stream.synchronize();
                double err = relErrFirstImage(out, out2, (long) hw * hw * hidden);
                double tol = bf16 ? 2e-2 : 1e-5;
                row.put("relErrFirstImage", err);
                row.put("check", err < tol ? String.format(Locale.ROOT, "ok %.1e", err)
                        : String.format(Locale.ROOT, "MISMATCH %.1e", err));
                if (!(err < tol)) warn("gated " + row + ": fused and cuDNN + gate disagree, rel err " + err);
                row.put("cudnnAlgo", plan.forwardChoice().algorithm());
                row.put("cudnnWorkspaceBytes", plan.forwardChoice().workspaceBytes());

                Timing ours = time(() -> fused.launch(stream));
                Timing tc = time(conv);
                Timing tg = time(() -> gate.launch(stream));
                Timing both = time(() -> {
                    conv.run();
                    gate.launch(stream);
                });
                row.put("ours", ours.json());
                row.put("cudnnConv", tc.json());
                row.put("gate", tg.json());
                row.put("cudnnPlusGate", both.json());
                row.put("ratio", both.us() / ours.us());
                long fusedBytes = (long) tokens * 3 * hidden * es;   // read g, i, c; write hidden
                long convBytes = 2L * tokens * cc * es;
                row.put("bytesFused", fusedBytes);
                row.put("oursGBps", fusedBytes / (ours.us() * 1e3));
                row.put("cudnnConvGBps", convBytes / (tc.us() * 1e3));
                row.put("gateGBps", fusedBytes / (tg.us() * 1e3));
                System.out.printf(Locale.ROOT, "gated %s %dx%d hidden %d conv %d: ours %.1f us, cuDNN %.1f + gate %.1f"
                                + " (together %.1f) us, ratio %.2f, %s%n", bf16 ? "bf16" : "f32", hw, hw, hidden, cc,
                        ours.us(), tc.us(), tg.us(), both.us(), both.us() / ours.us(), row.get("check"));
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ convs

    /** One 3x3 stride-2 pad-1 conv of the stem or a downsampling layer. */
    private record ConvCase(String model, String name, int ci, int co, int h, boolean nchwInput) {}

    private List<Map<String, Object>> convs(List<MambaOutConfig> configs) {
        List<ConvCase> cases = new ArrayList<>();
        for (MambaOutConfig c : configs) {
            int d0 = c.dim(0);
            cases.add(new ConvCase(c.name(), "stem.conv1", c.inChans(), d0 / 2, IMAGE, true));
            cases.add(new ConvCase(c.name(), "stem.conv2", d0 / 2, d0, IMAGE / 2, false));
            for (int s = 0; s + 1 < c.stages(); s++) {
                cases.add(new ConvCase(c.name(), "downsample" + (s + 1), c.dim(s), c.dim(s + 1), IMAGE / 4 >> s, false));
            }
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ConvCase cc : cases) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("model", cc.model());
            row.put("conv", cc.name());
            row.put("n", BATCH);
            row.put("cin", cc.ci());
            row.put("cout", cc.co());
            row.put("h", cc.h());
            row.put("input", cc.nchwInput() ? "NCHW f32" : "NHWC bf16");
            try {
                convCase(row, cc);
            } catch (RuntimeException e) {
                row.put("error", e.toString());
                System.out.println("conv " + cc + ": FAILED " + e);
            }
            rows.add(row);
        }
        System.out.println("\n### Stem and downsampling convs, 3x3 stride 2 pad 1: im2col + cuBLASLt vs cuDNN (batch "
                + BATCH + ", bf16 NHWC out, f32 accumulation; us, median)\n");
        System.out.println("ours = im2col (runtime kernel) + cuBLASLt GEMM with bias epilogue, as the lowering plans it;"
                + " cuDNN = cudnnConvolutionForward, heuristic first algorithm, no bias; stem.conv1's cuDNN input is"
                + " pre-cast NCHW f32 -> NHWC bf16 (cast timed apart, not in the cuDNN column);"
                + " f32-in im2col = the bf16 program's gather from its f32 residual stream (downsampling only).\n");
        System.out.println("| model | conv | in -> out | im2col | GEMM | ours total | cuDNN | cuDNN algo (ws MB) "
                + "| cuDNN / ours | extra | check |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (Map<String, Object> r : rows) {
            String head = String.format(Locale.ROOT, "| %s | %s | %sx%s^2 -> %sx%d^2 | ", r.get("model"), r.get("conv"),
                    r.get("cin"), r.get("h"), r.get("cout"), (int) r.get("h") / 2);
            if (r.containsKey("error")) {
                System.out.println(head + "failed: " + r.get("error") + " |");
                continue;
            }
            String cud = r.containsKey("cudnn") ? String.format(Locale.ROOT, "%.1f", us(r, "cudnn"))
                    : "n/a: " + r.get("cudnnError");
            String algo = r.containsKey("cudnn") ? String.format(Locale.ROOT, "%s (%.1f)", r.get("cudnnAlgo"),
                    ((long) r.get("cudnnWorkspaceBytes")) / 1048576.0) : "-";
            String ratio = r.containsKey("cudnn") ? String.format(Locale.ROOT, "%.2f", us(r, "cudnn") / us(r, "oursTotal"))
                    : "-";
            String extra = r.containsKey("castNchwToNhwcBf16") ? String.format(Locale.ROOT, "cast %.1f",
                    us(r, "castNchwToNhwcBf16"))
                    : r.containsKey("im2colF32In") ? String.format(Locale.ROOT, "f32-in im2col %.1f", us(r, "im2colF32In"))
                    : "";
            System.out.printf(Locale.ROOT, "%s%.1f | %.1f | %.1f | %s | %s | %s | %s | %s |%n", head, us(r, "im2col"),
                    us(r, "gemm"), us(r, "oursTotal"), cud, algo, ratio, extra, r.getOrDefault("check", "-"));
        }
        return rows;
    }

    private void convCase(Map<String, Object> row, ConvCase c) {
        int n = BATCH, h = c.h(), ci = c.ci(), co = c.co(), k = 3;
        int ho = Im2colKernels.outSize(h, k, 2, 1);
        int rows = n * ho * ho;
        int colStride = Im2colKernels.colStride(k, ci);
        long xElems = (long) n * h * h * ci;
        long bytes = xElems * 4 * 2 + (long) rows * colStride * 2 + 2L * rows * co * 2 + 2L * co * colStride * 2
                + LtMatmulSpec.DEFAULT_WORKSPACE + 32 * 256;
        try (DeviceArena a = device.newArena(bytes)) {
            // Input: the user's NCHW f32 batch for stem.conv1 (cuDNN then gets it cast to NHWC bf16), else NHWC bf16
            // (and an f32 copy of the same shape for the bf16 program's f32-in gather).
            Tensor xIn = c.nchwInput() ? a.allocate(DType.F32, Shape.of(n, ci, h, h))
                    : a.allocate(DType.BF16, Shape.nhwc(n, h, h, ci));
            Tensor xNhwc = c.nchwInput() ? a.allocate(DType.BF16, Shape.nhwc(n, h, h, ci)) : xIn;
            Tensor xF32 = c.nchwInput() ? null : a.allocate(DType.F32, Shape.nhwc(n, h, h, ci));
            Tensor col = a.allocate(DType.BF16, Shape.of(rows, colStride));
            Tensor outOurs = a.allocate(DType.BF16, Shape.of(rows, co));
            Tensor outCudnn = a.allocate(DType.BF16, Shape.nhwc(n, ho, ho, co));
            Tensor wPacked = a.allocate(DType.BF16, Shape.of(co, colStride));
            Tensor wKrsc = a.allocate(DType.BF16, Shape.of(co, k, k, ci));
            Tensor bias = a.allocate(DType.BF16, Shape.of(co));
            Tensor ws = a.allocate(DType.BF16, Shape.of(Math.toIntExact(LtMatmulSpec.DEFAULT_WORKSPACE / 2)));

            bk.fillUniform(stream, xIn.address(), xIn.numel(), !c.nchwInput(), 0x57e + ci, 1f);
            if (xF32 != null) bk.fillUniform(stream, xF32.address(), xF32.numel(), false, 0x57f + ci, 1f);
            SplittableRandom rnd = new SplittableRandom(31L * ci + co);
            float[] w = new float[co * ci * k * k];     // PyTorch [Co, Ci, k, k]
            double scale = 1 / Math.sqrt(ci * k * k);
            for (int i = 0; i < w.length; i++) w[i] = roundIf(true, (float) (rnd.nextDouble(-1, 1) * scale));
            float[] krsc = new float[w.length];
            for (int o = 0; o < co; o++) {
                for (int i = 0; i < ci; i++) {
                    for (int r = 0; r < k * k; r++) krsc[(o * k * k + r) * ci + i] = w[(o * ci + i) * k * k + r];
                }
            }
            upload(wPacked, Im2colKernels.packWeight(w, co, ci, k));
            upload(wKrsc, krsc);
            upload(bias, new float[co]);    // zero: cuDNN's forward has no bias, and the outputs are compared

            Launch cast = c.nchwInput() ? bk.prepare(BenchKernels.NCHW_TO_NHWC, (long) n * h * h, ptr(xNhwc.address()),
                    ptr(xIn.address()), i32(n), i32(ci), i32(h * h)) : null;
            if (cast != null) cast.launch(stream);
            LtMatmulSpec spec = LtMatmulSpec.of(RowMajorGemm.linear(rows, colStride, co), CudaDataType.BF16,
                    CudaDataType.BF16, ComputeType.F32, Epilogue.BIAS);
            try (Launch im2col = c.nchwInput() ? Im2colLaunch.prepareNchw(device.modules(), col, xIn, k, 2, 1)
                         : Im2colLaunch.prepareNhwc(device.modules(), col, xIn, k, 2, 1);
                 Launch im2colF32 = xF32 == null ? null : Im2colLaunch.prepareNhwc(device.modules(), col, xF32, k, 2, 1);
                 LtMatmul gemm = lt.plan(spec)) {
                long wsPtr = gemm.workspaceBytes() > 0 ? ws.address() : 0;
                Runnable g = () -> gemm.run(1f, col.address(), wPacked.address(), 0f, 0, outOurs.address(),
                        bias.address(), wsPtr, stream.handle());
                row.put("gemmAlgo", gemm.algo().toString());
                row.put("gemm_mnk", rows + "x" + co + "x" + colStride);
                Timing ti = time(() -> im2col.launch(stream));
                Timing tg = time(g);
                Timing tt = time(() -> {
                    im2col.launch(stream);
                    g.run();
                });
                row.put("im2col", ti.json());
                row.put("gemm", tg.json());
                row.put("oursTotal", tt.json());
                if (im2colF32 != null) row.put("im2colF32In", time(() -> im2colF32.launch(stream)).json());
                if (cast != null) row.put("castNchwToNhwcBf16", time(() -> cast.launch(stream)).json());

                ConvSpec cs = new ConvSpec(n, ci, h, h, co, k, k, 1, 1, 2, 2, 1, 1, 1, TensorFormat.NHWC,
                        CudnnDataType.BFLOAT16, CudnnMathType.DEFAULT);
                ConvPlan plan;
                try {
                    plan = cudnn.plan(cs);
                } catch (RuntimeException e) {
                    row.put("cudnnError", e.getMessage());
                    System.out.println("conv " + c + ": cuDNN cannot plan it: " + e.getMessage());
                    return;
                }
                try (plan; DeviceArena cws = device.newArena(Math.max(256, plan.forwardChoice().workspaceBytes()))) {
                    long cwsPtr = plan.forwardChoice().workspaceBytes() > 0 ? cws.base() : 0;
                    Runnable fwd = () -> plan.forward(1f, xNhwc.address(), wKrsc.address(), 0f, outCudnn.address(),
                            cwsPtr);
                    poison(outOurs);
                    poison(outCudnn);
                    im2col.launch(stream);
                    g.run();
                    fwd.run();
                    stream.synchronize();
                    double err = relErrFirstImage(outOurs, outCudnn, (long) ho * ho * co);
                    row.put("relErrFirstImage", err);
                    row.put("check", err < 1e-2 ? String.format(Locale.ROOT, "ok %.1e", err)
                            : String.format(Locale.ROOT, "MISMATCH %.1e", err));
                    if (!(err < 1e-2)) warn("conv " + c + ": ours and cuDNN disagree, rel err " + err);
                    row.put("cudnnAlgo", plan.forwardChoice().algorithm());
                    row.put("cudnnWorkspaceBytes", plan.forwardChoice().workspaceBytes());
                    Timing tc = time(fwd);
                    row.put("cudnn", tc.json());
                    System.out.printf(Locale.ROOT, "conv %s %s %dx%d^2 -> %dx%d^2: im2col %.1f + GEMM %.1f (together %.1f)"
                                    + " us, cuDNN %.1f us (algo %d), %s%n", c.model(), c.name(), ci, h, co, ho, ti.us(),
                            tg.us(), tt.us(), tc.us(), plan.forwardChoice().algorithm(), row.get("check"));
                }
            } finally {
                if (cast != null) cast.close();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static float roundIf(boolean bf16, float v) {
        return bf16 ? DType.bf16ToFloat(DType.floatToBf16(v)) : v;
    }

    /** Copies host values into a F32 or BF16 tensor (small tensors: weights), waiting for the copy. */
    private void upload(Tensor t, float[] values) {
        if (values.length != t.numel()) {
            throw new IllegalArgumentException(values.length + " values for " + t.shape() + " (" + t.numel() + ")");
        }
        try (Arena host = Arena.ofConfined()) {
            MemorySegment s = host.allocate(t.bytes(), 16);
            for (int i = 0; i < values.length; i++) {
                if (t.dtype() == DType.BF16) s.setAtIndex(ValueLayout.JAVA_SHORT, i, DType.floatToBf16(values[i]));
                else s.setAtIndex(ValueLayout.JAVA_FLOAT, i, values[i]);
            }
            stream.synchronize();
            driver.memcpyHtoD(t.address(), s, t.bytes());
        }
    }

    /** 0xFF bytes: NaN in f32 and bf16, so an output a kernel failed to write shows in the check. */
    private void poison(Tensor t) {
        driver.memsetD8Async(t.address(), (byte) 0xFF, t.bytes(), stream.handle());
    }

    /** ||a - b|| / ||b|| over the first {@code count} elements (one image), as float64; NaN anywhere gives NaN. */
    private double relErrFirstImage(Tensor a, Tensor b, long count) {
        float[] x = download(a, count), y = download(b, count);
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - y[i];
            num += d * d;
            den += (double) y[i] * y[i];
        }
        return Math.sqrt(num / den);
    }

    private float[] download(Tensor t, long count) {
        float[] v = new float[Math.toIntExact(count)];
        try (Arena host = Arena.ofConfined()) {
            MemorySegment s = host.allocate(count * t.dtype().bytes(), 16);
            stream.synchronize();
            driver.memcpyDtoH(s, t.address(), count * t.dtype().bytes());
            for (int i = 0; i < v.length; i++) {
                v[i] = t.dtype() == DType.BF16 ? DType.bf16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i))
                        : s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            }
        }
        return v;
    }

    /** A minimal JSON writer for the result tree (maps, lists, strings, numbers, booleans). */
    static final class Json {
        private Json() {}

        static String write(Object o) {
            StringBuilder sb = new StringBuilder();
            write(sb, o, 0);
            return sb.toString();
        }

        private static void write(StringBuilder sb, Object o, int indent) {
            switch (o) {
                case null -> sb.append("null");
                case Map<?, ?> m -> {
                    sb.append('{');
                    int i = 0;
                    for (Map.Entry<?, ?> e : m.entrySet()) {
                        sb.append(i++ == 0 ? "" : ",").append('\n').append("  ".repeat(indent + 1));
                        quote(sb, String.valueOf(e.getKey()));
                        sb.append(": ");
                        write(sb, e.getValue(), indent + 1);
                    }
                    if (!m.isEmpty()) sb.append('\n').append("  ".repeat(indent));
                    sb.append('}');
                }
                case List<?> l -> {
                    sb.append('[');
                    for (int i = 0; i < l.size(); i++) {
                        sb.append(i == 0 ? "" : ",").append('\n').append("  ".repeat(indent + 1));
                        write(sb, l.get(i), indent + 1);
                    }
                    if (!l.isEmpty()) sb.append('\n').append("  ".repeat(indent));
                    sb.append(']');
                }
                case Double d -> sb.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : "null");
                case Float f -> write(sb, (double) f, indent);
                case Number num -> sb.append(num);
                case Boolean b -> sb.append(b);
                default -> quote(sb, o.toString());
            }
        }

        private static void quote(StringBuilder sb, String s) {
            sb.append('"');
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    default -> {
                        if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                        else sb.append(c);
                    }
                }
            }
            sb.append('"');
        }
    }
}
