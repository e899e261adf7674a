package dev.mambaout.bench;

import dev.mambaout.model.MambaOutConfig;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One GEMM the benchmarks time, as a linear layer: D[m,n] = A[m,k] W[n,k]^T, all bf16, float accumulation. The model
 * shapes come from {@link MambaOutConfig} (never written twice): in stage {@code s} a block's fc1 maps
 * {@code tokens x dim} to {@code tokens x 2*hidden} and fc2 maps {@code tokens x hidden} back to {@code tokens x dim},
 * with {@code tokens = batch * (side / 2^s)^2} and {@code side = imageSize / 4} (the stem's stride).
 */
record GemmCase(String name, int m, int n, int k) {

    GemmCase {
        if (m <= 0 || n <= 0 || k <= 0) {
            throw new IllegalArgumentException("GEMM " + name + " needs positive sizes, got m=" + m + " n=" + n + " k=" + k);
        }
    }

    /** 2mnk: each of the m*n outputs takes k multiplies and k adds. */
    double flops() { return 2.0 * m * n * k; }

    /** The fewest bytes one product moves: A and W read once, D written once, 2 bytes each. */
    long bytes() { return 2L * ((long) m * k + (long) n * k + (long) m * n); }

    /** Batch 256, femto: the shapes the issue names (stage 0 fc1 is 802816 x 48 @ 48 x 256). */
    static final int BATCH = 256;

    /** Every case {@link GemmBench} accepts, by name: the 8192^3 ceiling, then femto's fc1/fc2 per stage. */
    static final Map<String, GemmCase> ALL = all();

    static GemmCase byName(String name) {
        GemmCase c = ALL.get(name);
        if (c == null) throw new IllegalArgumentException("no GEMM case '" + name + "'; known: " + ALL.keySet());
        return c;
    }

    /** fc1 and fc2 of every stage of {@code config} at {@code batch}, stage by stage. */
    static List<GemmCase> modelCases(MambaOutConfig config, int batch) {
        List<GemmCase> cases = new ArrayList<>();
        int side = config.imageSize() / 4;
        for (int s = 0; s < config.stages(); s++) {
            int edge = side >> s;
            int tokens = Math.multiplyExact(batch, edge * edge);
            int dim = config.dim(s);
            int hidden = config.hidden(s);
            String prefix = config.name() + "_b" + batch + "_s" + s;
            cases.add(new GemmCase(prefix + "_fc1", tokens, 2 * hidden, dim));
            cases.add(new GemmCase(prefix + "_fc2", tokens, dim, hidden));
        }
        return cases;
    }

    private static Map<String, GemmCase> all() {
        Map<String, GemmCase> m = new LinkedHashMap<>();
        m.put("square_8192", new GemmCase("square_8192", 8192, 8192, 8192));
        for (GemmCase c : modelCases(MambaOutConfig.variant("femto"), BATCH)) m.put(c.name(), c);
        return Collections.unmodifiableMap(m);
    }
}
