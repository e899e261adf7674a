package dev.mambaout.model.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.infer.DeviceChoice;
import dev.mambaout.model.infer.InferenceOptions;
import dev.mambaout.model.infer.MambaOutModel;
import dev.mambaout.natives.Cuda;
import dev.mambaout.runtime.exec.GpuProgram;
import dev.mambaout.runtime.exec.Precision;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code mambaout profile}: the lowered steps of one model run one by one between CUDA events, in a table: what ran,
 * its median time and share, the bytes it must move and the FLOPs it does, the rates those give, and how close each
 * step comes to the card's roofline (the copy bandwidth and GEMM rate measured at the start of the run).
 */
@Command(name = "profile", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time every lowered step of a model on the GPU against the card's measured roofline.")
final class ProfileCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, defaultValue = "femto", paramLabel = "VARIANT", description = "Variant. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = {"-b", "--batch"}, defaultValue = "64", paramLabel = "N", description = "Batch size. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = {"--precision"}, defaultValue = "BF16", paramLabel = "f32|tf32|bf16", description = "Default: ${DEFAULT-VALUE}.")
    Precision precision;

    @Option(names = {"--image-size"}, paramLabel = "PIXELS", description = "Default: the variant's (224).")
    Integer imageSize;

    @Option(names = {"--reps"}, defaultValue = "20", paramLabel = "N", description = "Timed runs per step (median). Default: ${DEFAULT-VALUE}.")
    int reps;

    @Option(names = {"--json"}, description = "Print JSON instead of the table.")
    boolean json;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        MambaOutConfig config = MambaOutConfig.variant(model);
        Precision p = precision;
        int size = imageSize != null ? imageSize : config.imageSize();
        if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        if (reps < 1) throw new IllegalArgumentException("--reps must be >= 1, got " + reps);
        InferenceOptions o = new InferenceOptions(DeviceChoice.GPU, p, batch, size, size, Cuda.configuredBackend(), 0);
        try (MambaOutModel m = MambaOutModel.random(config, 0, o)) {
            MambaOutModel.Profile prof = m.profile(batch, reps);
            if (json) {
                out.println(toJson(config, p, prof));
            } else {
                table(out, config, p, prof);
            }
        }
        out.flush();
        return 0;
    }

    private void table(PrintWriter out, MambaOutConfig config, Precision p, MambaOutModel.Profile prof) {
        double total = prof.steps().stream().mapToDouble(GpuProgram.StepTime::medianMs).sum();
        out.printf(Locale.ROOT, "mambaout_%s, batch %d, %s on %s%n", config.name(), batch, p.name().toLowerCase(Locale.ROOT), prof.device());
        out.printf(Locale.ROOT, "roofline: copy %.0f GB/s, GEMM %.0f TFLOP/s (measured now)%n", prof.roofline().copyGBps(), prof.roofline().gemmTflops());
        out.printf(Locale.ROOT, "%-44s %-32s %9s %6s %10s %8s %8s %6s%n", "step", "kernel", "us", "share", "MB", "GB/s", "TFLOP/s", "roof");
        for (GpuProgram.StepTime s : prof.steps()) {
            double sec = s.medianMs() / 1e3;
            out.printf(Locale.ROOT, "%-44s %-32s %9.1f %5.1f%% %10.2f %8.0f %8.1f %5.0f%%%n", clip(s.name(), 44), clip(s.kernel(), 32),
                    s.medianMs() * 1e3, 100 * s.medianMs() / total, s.bytes() / 1e6, s.bytes() / sec / 1e9,
                    s.flops() / sec / 1e12, 100 * roofShare(s, prof));
        }
        out.printf(Locale.ROOT, "sum of steps %.3f ms; one CUDA-graph replay %.3f ms = %.0f img/s%n", total, prof.graphMs(),
                batch / (prof.graphMs() / 1e3));
    }

    /** The step's roofline time (bytes at the copy rate or FLOPs at the GEMM rate, whichever is longer) over its time. */
    private static double roofShare(GpuProgram.StepTime s, MambaOutModel.Profile prof) {
        double floor = Math.max(s.bytes() / (prof.roofline().copyGBps() * 1e9), s.flops() / (prof.roofline().gemmTflops() * 1e12));
        return floor / (s.medianMs() / 1e3);
    }

    private String toJson(MambaOutConfig config, Precision p, MambaOutModel.Profile prof) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("model", config.name()).put("batch", batch).put("precision", p.name().toLowerCase(Locale.ROOT))
                .put("device", prof.device()).put("copy_gbps", prof.roofline().copyGBps())
                .put("gemm_tflops", prof.roofline().gemmTflops()).put("graph_ms", prof.graphMs());
        ArrayNode steps = root.putArray("steps");
        for (GpuProgram.StepTime s : prof.steps()) {
            steps.addObject().put("step", s.name()).put("kernel", s.kernel()).put("ms", s.medianMs()).put("bytes", s.bytes())
                    .put("flops", s.flops()).put("roofline_share", roofShare(s, prof));
        }
        return root.toPrettyString();
    }

    private static String clip(String s, int n) { return s.length() <= n ? s : s.substring(0, n - 1) + "~"; }
}
