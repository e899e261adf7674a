package dev.mambaout.model;

import dev.mambaout.graph.DType;

import java.util.Locale;

/**
 * Prints the README's variant table (parameters, GMACs at 224^2, the planner's activation arena for inference and
 * training at batch 1 and 128, F32 activations). Run from the module directory:
 * {@code java -cp target/classes:target/test-classes:$(deps) dev.mambaout.model.ModelTable}.
 */
public final class ModelTable {

    private ModelTable() {}

    public static void main(String[] args) {
        System.out.println("| variant | parameters | GMACs 224² | inference b1 | inference b128 | training b1 | training b128 |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (MambaOutConfig c : MambaOutConfig.VARIANTS) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %,d | %.2f",
                    c.name(), ParameterSpec.of(c).count(), ModelStats.gmacs(c, 224, 224)));
            for (MambaOutGraph.Mode mode : MambaOutGraph.Mode.values()) {
                for (int batch : new int[]{1, 128}) {
                    long bytes = MambaOutGraph.build(c, batch, 224, 224, mode,
                            MambaOutGraph.Options.DEFAULT.withFloatType(DType.F32)).peakActivationBytes();
                    row.append(String.format(Locale.ROOT, " | %s", mib(bytes)));
                }
            }
            System.out.println(row.append(" |"));
        }
    }

    private static String mib(long bytes) {
        double m = bytes / (1024.0 * 1024.0);
        return m >= 1024 ? String.format(Locale.ROOT, "%.2f GiB", m / 1024) : String.format(Locale.ROOT, "%.1f MiB", m);
    }
}
