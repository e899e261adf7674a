package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mambaout.graph.DType;
import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.Checkpoints;
import dev.mambaout.model.checkpoint.KeyNaming;
import dev.mambaout.model.cli.MambaOutCli;
import dev.mambaout.model.cli.RandomInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code mambaout train} end to end, in-process, with femto on synthetic Fashion-MNIST-layout files (28x28 -> 32x32). */
class TrainCommandTest {

    @TempDir static Path shared;
    static Path data;

    @BeforeAll
    static void files() throws IOException {
        data = Synthetic.writeSplits(shared.resolve("fmnist"), 48, 16, 28);
    }

    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = MambaOutCli.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** The small run's options, each of {@code more} (flag, value pairs) replacing or adding one. */
    static String[] train(Path out, String... more) {
        Map<String, String> o = new LinkedHashMap<>();
        String[] base = {"--model", "femto", "--data", data.toString(), "--limit-train", "32", "--limit-test", "16", "--batch", "16",
                "--epochs", "1", "--log-every", "1", "--device", "cpu", "--out", out.toString()};
        for (int i = 0; i < base.length; i += 2) o.put(base[i], base[i + 1]);
        for (int i = 0; i < more.length; i += 2) o.put(more[i], more[i + 1]);
        List<String> a = new ArrayList<>(List.of("train"));
        o.forEach((k, v) -> {
            a.add(k);
            a.add(v);
        });
        return a.toArray(String[]::new);
    }

    @Test
    void trainsStopsAndResumes(@TempDir Path out) throws IOException {
        Run first = cli(train(out, "--stop-at-step", "1"));
        assertEquals(0, first.exit(), first.toString());
        assertTrue(first.out().contains("device   CPU executor"), first.toString());
        assertTrue(first.out().contains("stopped at step 1 of 2; resume with --resume"), first.toString());
        assertTrue(Files.exists(out.resolve(Trainer.CHECKPOINT)));

        Run again = cli(train(out));
        assertEquals(1, again.exit(), again.toString());
        assertTrue(again.err().contains("already holds checkpoint.safetensors"), again.toString());

        Run changed = cli(train(out, "--resume", out.resolve(Trainer.CHECKPOINT).toString(), "--lr", "1e-3"));
        assertEquals(1, changed.exit(), changed.toString());
        assertTrue(changed.err().contains("lr: 0.002 vs 0.001"), changed.toString());

        Run resumed = cli(train(out, "--resume", out.resolve(Trainer.CHECKPOINT).toString()));
        assertEquals(0, resumed.exit(), resumed.toString());
        assertTrue(resumed.out().contains("resuming after step 1"), resumed.toString());
        assertTrue(resumed.out().contains("done     2 steps"), resumed.toString());
        List<JsonNode> lines = MetricsLog.read(out.resolve(Trainer.METRICS));
        assertEquals(List.of(1L, 2L, 2L), lines.stream().map(n -> n.get("step").asLong()).toList());
        JsonNode epoch = lines.getLast();
        assertEquals("epoch", epoch.get("kind").asText());
        assertTrue(epoch.has("test_accuracy") && epoch.has("test_loss"), epoch.toString());
        assertTrue(Files.size(out.resolve(Trainer.PLOT)) > 1000);
        // The final weights are femto with one input channel and ten classes, in timm's names.
        MambaOutConfig femto = MambaOutConfig.variant("femto").withInChans(1).withNumClasses(10);
        assertEquals(ParameterSpec.of(femto).params().size(),
                Checkpoints.loadFloats(out.resolve(Trainer.MODEL), ParameterSpec.of(femto), Checkpoints.Mode.STRICT).values().size());
    }

    @Test
    void fineTunesFromATimmCheckpointWithANewHead(@TempDir Path dir) throws IOException {
        MambaOutConfig imagenet1ch = MambaOutConfig.variant("femto").withInChans(1);
        Map<String, float[]> source = RandomInit.draw(ParameterSpec.of(imagenet1ch), 5);
        Path file = dir.resolve("femto-1ch.safetensors");
        Checkpoints.save(file, ParameterSpec.of(imagenet1ch), source, DType.F32, KeyNaming.OFFICIAL);
        Path out = dir.resolve("run");
        // A learning rate of 1e-12 keeps the weights where the checkpoint put them (to float precision) for the check.
        Run r = cli(train(out, "--init-from", file.toString(), "--num-classes", "10", "--lr", "1e-12", "--limit-train", "16"));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("(official key names); new head: head.fc.weight, head.fc.bias re-initialised for 10 classes"), r.toString());
        MambaOutConfig tuned = imagenet1ch.withNumClasses(10);
        Map<String, float[]> got = Checkpoints.loadFloats(out.resolve(Trainer.MODEL), ParameterSpec.of(tuned), Checkpoints.Mode.STRICT).values();
        for (String k : List.of("stem.conv1.weight", "stages.2.blocks.4.fc1.weight", "head.pre_logits.fc.weight")) {
            float[] a = source.get(k), b = got.get(k);
            for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-6f + 1e-6f * Math.abs(a[i]), k + "[" + i + "]");
        }
        assertEquals(10 * tuned.headHidden(), got.get("head.fc.weight").length);

        Path rgb = dir.resolve("femto-3ch.safetensors");
        MambaOutConfig three = MambaOutConfig.variant("femto");
        Checkpoints.save(rgb, ParameterSpec.of(three), RandomInit.draw(ParameterSpec.of(three), 5), DType.BF16, KeyNaming.TIMM);
        Run bad = cli(train(dir.resolve("run3"), "--init-from", rgb.toString(), "--num-classes", "10"));
        assertEquals(1, bad.exit(), bad.toString());
        assertTrue(bad.err().contains("has in_chans 3 (stem.conv1.weight [24, 3, 3, 3]) but this run's model takes 1"), bad.toString());
    }

    @Test
    void badRequestsGetClearErrors(@TempDir Path out) throws IOException {
        if (!dev.mambaout.natives.Cuda.availability(dev.mambaout.natives.Cuda.configuredBackend()).available()) {
            // Without a GPU, --device gpu says why instead of falling back.
            Run gpu = cli(train(out, "--device", "gpu"));
            assertEquals(1, gpu.exit(), gpu.toString());
            assertTrue(gpu.err().contains("--device gpu: no usable GPU"), gpu.toString());
            Run auto = cli(train(out.resolve("auto"), "--device", "auto", "--stop-at-step", "1"));
            assertEquals(0, auto.exit(), auto.toString());
            assertTrue(auto.out().contains("device   auto: the CPU executor (no usable GPU"), auto.toString());
            Run gpus = cli(train(out.resolve("gpus"), "--device", "gpu", "--gpus", "0,1"));
            assertEquals(1, gpus.exit(), gpus.toString());
            assertTrue(gpus.err().contains("--gpus 0,1: no usable GPU"), gpus.toString());
        }

        Run cpuGpus = cli(train(out, "--gpus", "0,1"));
        assertEquals(1, cpuGpus.exit(), cpuGpus.toString());
        assertTrue(cpuGpus.err().contains("--gpus needs --device gpu (or auto), not cpu"), cpuGpus.toString());
        Run badList = cli(train(out, "--device", "gpu", "--gpus", "0,x"));
        assertEquals(1, badList.exit(), badList.toString());
        assertTrue(badList.err().contains("--gpus takes 'all' or GPU ordinals separated by commas (e.g. 0,1), got '0,x'"),
                badList.toString());
        Run twice = cli(train(out, "--device", "gpu", "--gpus", "1,1"));
        assertEquals(1, twice.exit(), twice.toString());
        assertTrue(twice.err().contains("--gpus: ordinals must be distinct and >= 0, got '1,1'"), twice.toString());
        // 16 does not split over 3 GPUs: said before any GPU is touched, with or without one.
        Run uneven = cli(train(out, "--device", "gpu", "--gpus", "0,1,2"));
        assertEquals(1, uneven.exit(), uneven.toString());
        assertTrue(uneven.err().contains("the batch of 16 does not split evenly over 3 GPUs: use a multiple of 3"),
                uneven.toString());

        Run nodesNoGpus = cli(train(out, "--device", "gpu", "--nodes", "2"));
        assertEquals(1, nodesNoGpus.exit(), nodesNoGpus.toString());
        assertTrue(nodesNoGpus.err().contains("--nodes 2 needs --gpus"), nodesNoGpus.toString());
        Run rank = cli(train(out, "--device", "gpu", "--gpus", "0", "--nodes", "2", "--node-rank", "2",
                "--rendezvous", out.resolve("id").toString()));
        assertEquals(1, rank.exit(), rank.toString());
        assertTrue(rank.err().contains("--node-rank must lie in [0, 2), got 2"), rank.toString());
        Run noFile = cli(train(out, "--device", "gpu", "--gpus", "0", "--nodes", "2"));
        assertEquals(1, noFile.exit(), noFile.toString());
        assertTrue(noFile.err().contains("a run over 2 machines needs --rendezvous FILE"), noFile.toString());

        Run missing = cli("train", "--data", out.resolve("no-such-dir").toString(), "--out", out.toString());
        assertEquals(1, missing.exit(), missing.toString());
        assertTrue(missing.err().contains("sudo apt-get install dataset-fashion-mnist"), missing.toString());

        Run odd = cli(train(out, "--img-size", "31"));
        assertEquals(1, odd.exit(), odd.toString());
        assertTrue(odd.err().contains("--img-size 31"), odd.toString());

        Run big = cli(train(out, "--batch", "64"));
        assertEquals(1, big.exit(), big.toString());
        assertTrue(big.err().contains("--batch 64 is larger than the 32 training images"), big.toString());

        Run chans = cli(train(out, "--in-chans", "3"));
        assertEquals(1, chans.exit(), chans.toString());
        assertTrue(chans.err().contains("the training images have 1 channel but the model takes 3 (--in-chans)"), chans.toString());

        Files.createDirectories(out.resolve("folder"));
        Run folder = cli("train", "--dataset", "folder", "--data", out.resolve("folder").toString(), "--out", out.toString());
        assertEquals(1, folder.exit(), folder.toString());
        assertTrue(folder.err().contains("has no train/ folder"), folder.toString());

        Run both = cli(train(out, "--resume", "a", "--init-from", "b"));
        assertEquals(1, both.exit(), both.toString());
        assertTrue(both.err().contains("--resume and --init-from exclude each other"), both.toString());

        Path broken = out.resolve("broken");
        Files.createDirectories(broken);
        Files.write(broken.resolve("train-images-idx3-ubyte"), Synthetic.idx3(new byte[10], 1, 28, 28));
        Files.write(broken.resolve("train-labels-idx1-ubyte"), Synthetic.idx1(new byte[] {3}));
        Run damaged = cli("train", "--data", broken.toString(), "--out", out.toString());
        assertEquals(1, damaged.exit(), damaged.toString());
        assertTrue(damaged.err().contains(broken.resolve("train-images-idx3-ubyte") + ": is truncated"), damaged.toString());
    }
}
