package dev.mambaout.model.cli;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ModelStats;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.Locale;

/** {@code mambaout models}: every variant with its exact parameter count and GMACs at 224x224. */
@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List the MambaOut variants: parameters (exact) and GMACs of one 224x224 image "
                + "(fvcore's count: conv and linear MACs plus its LayerNorm estimate, as the paper reports).")
final class ModelsCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "%-15s %13s %8s %9s  %-15s %s%n", "variant", "params", "GMACs", "crop_pct", "depths", "dims");
        for (MambaOutConfig c : MambaOutConfig.VARIANTS) {
            out.printf(Locale.ROOT, "%-15s %,13d %8.2f %9.3f  %-15s %s%n", c.name(), ModelStats.params(c),
                    ModelStats.gmacs(c, 224, 224), c.cropPct(), c.depths(), c.dims());
        }
        out.flush();
    }
}
