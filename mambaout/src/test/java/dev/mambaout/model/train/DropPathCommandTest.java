package dev.mambaout.model.train;

import dev.mambaout.model.cli.MambaOutCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code mambaout train --drop-path}: trains on the CPU, and a resume must give the same rate. */
class DropPathCommandTest {

    private static String run(int want, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = MambaOutCli.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        String all = "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        assertEquals(want, exit, all);
        return all;
    }

    private static String[] train(Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--model", "femto", "--data", data.toString(), "--limit-train", "32",
                "--limit-test", "16", "--batch", "16", "--epochs", "1", "--log-every", "1", "--device", "cpu", "--out",
                out.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void trainsWithDropPathAndResumesOnlyWithTheSameRate(@TempDir Path dir) throws IOException {
        Path data = Synthetic.writeSplits(dir.resolve("fmnist"), 48, 16, 28), out = dir.resolve("run");
        run(0, train(data, out, "--drop-path", "0.1", "--stop-at-step", "1"));
        String ckpt = out.resolve(Trainer.CHECKPOINT).toString();
        String other = run(1, train(data, out, "--resume", ckpt));
        assertTrue(other.contains("model.drop_path_rate: 0.1 vs absent"), other);
        String resumed = run(0, train(data, out, "--resume", ckpt, "--drop-path", "0.1"));
        assertTrue(resumed.contains("done     2 steps"), resumed);
        run(2, train(data, dir.resolve("bad"), "--drop-path", "x"));
        String refused = run(1, train(data, dir.resolve("bad"), "--drop-path", "1"));
        assertTrue(refused.contains("dropPathRate must lie in [0, 1), got 1.0"), refused);
    }
}
