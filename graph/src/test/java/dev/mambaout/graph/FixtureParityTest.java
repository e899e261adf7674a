package dev.mambaout.graph;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.runtime.DType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The executor and autodiff against PyTorch/timm (shared/fixtures, see its README): the official-structure
 * network built by {@link NetFixture} with timm's parameter names, weights and inputs from the fixtures. The full
 * model lives in the mambaout module; this pins the ops themselves, independently of that builder.
 */
class FixtureParityTest {
    private static final Path DIR = Path.of(System.getProperty("fixtures.dir", "/work/shared/fixtures"));

    /** Minimal safetensors reader (test-only): header JSON parsed with a pattern, values widened to double. */
    static Map<String, double[]> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) buf.getLong(0);
        String header = new String(all, 8, headerLen, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"([^\"]+)\":\\{\"dtype\":\"(\\w+)\",\"shape\":\\[[0-9,]*\\],\"data_offsets\":\\[(\\d+),(\\d+)\\]\\}").matcher(header);
        Map<String, double[]> out = new HashMap<>();
        while (m.find()) {
            int start = 8 + headerLen + Integer.parseInt(m.group(3)), end = 8 + headerLen + Integer.parseInt(m.group(4));
            String dt = m.group(2);
            int size = switch (dt) { case "F64", "I64" -> 8; case "F32" -> 4; case "BF16" -> 2; default -> throw new IOException(dt); };
            double[] v = new double[(end - start) / size];
            for (int i = 0; i < v.length; i++) {
                int at = start + i * size;
                v[i] = switch (dt) {
                    case "F64" -> buf.getDouble(at);
                    case "I64" -> buf.getLong(at);
                    case "F32" -> buf.getFloat(at);
                    default -> DType.bf16ToFloat(buf.getShort(at));
                };
            }
            out.put(m.group(1), v);
        }
        return out;
    }

    static double relErr(double[] ref, double[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (ref[i] - got[i]) * (ref[i] - got[i]);
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    private static void check(NetFixture net, String weights, String reference, Precision precision, double tol) throws IOException {
        assumeTrue(Files.isReadable(DIR.resolve(reference)), "fixtures not present in " + DIR);
        Map<String, double[]> w = read(DIR.resolve(weights)), ref = read(DIR.resolve(reference));
        TrainingGraph t = Autodiff.training(net.graph(), net.loss());
        Bindings b = new Bindings();
        for (Tensor p : net.graph().parameters()) b.put(p, w.get(p.name()));
        b.put(net.input(), ref.get("input"));
        double[] lab = ref.get("labels");
        b.putLabels(net.labels(), java.util.Arrays.stream(lab).mapToInt(v -> (int) v).toArray());
        Results r = new CpuExecutor(precision).run(t.graph(), b);

        double e = relErr(ref.get("logits"), r.doubles(net.logits()));
        assertTrue(e < tol, "logits rel err " + e);
        e = relErr(ref.get("loss"), new double[]{r.scalar(net.loss())});
        assertTrue(e < tol, "loss rel err " + e);
        int checked = 0;
        double worst = 0;
        for (Map.Entry<String, double[]> g : ref.entrySet()) {
            if (!g.getKey().startsWith("grad.")) continue;
            String name = g.getKey().substring(5);
            e = relErr(g.getValue(), r.doubles(t.gradient(name)));
            assertTrue(e < tol, g.getKey() + " rel err " + e);
            worst = Math.max(worst, e);
            checked++;
        }
        assertTrue(checked > 5, "only " + checked + " gradients in " + reference);
        System.out.printf("%s %s: logits rel err %.2e, worst of %d gradients %.2e%n", reference, precision,
                relErr(ref.get("logits"), r.doubles(net.logits())), checked, worst);
    }

    @Test
    void miniMatchesTimmInFloat64() throws IOException {
        NetFixture net = NetFixture.build(DType.F64, 2, 64, 3, 10, List.of(1, 1, 2, 1), List.of(16, 32, 48, 64),
                8.0 / 3.0, 7, dev.mambaout.graph.ops.Activation.GELU, false, 0.0);
        check(net, "mini.safetensors", "mini.reference.safetensors", Precision.F64, 1e-12);
    }

    @Test
    void femtoMatchesTimmInFloat32() throws IOException {
        check(NetFixture.femto(DType.F32, 2, 224), "femto.safetensors", "femto.reference.safetensors", Precision.F32, 1e-5);
    }
}
