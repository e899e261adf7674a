package dev.mambaout.graph.cpu;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** Parallel loops on the common ForkJoinPool, and reductions whose summation order does not depend on threads. */
final class Par {
    private Par() {}

    /** Chunks of a reduction: fixed, so f64 sums come out bit-identical whatever the core count. */
    static final int REDUCE_CHUNKS = 16;

    static void forEach(int n, IntConsumer body) {
        if (n <= 1) {
            if (n == 1) body.accept(0);
            return;
        }
        IntStream.range(0, n).parallel().forEach(body);
    }

    /** Body of a chunked reduction: accumulate items [from, to) into acc. */
    interface Chunk {
        void run(int from, int to, double[] acc);
    }

    /** Sum over items of per-item vectors of length width, in REDUCE_CHUNKS partial sums added in order. */
    static double[] reduce(int items, int width, Chunk body) {
        int chunks = Math.max(1, Math.min(items, REDUCE_CHUNKS));
        double[][] partial = new double[chunks][width];
        forEach(chunks, c -> body.run((int) ((long) c * items / chunks), (int) ((long) (c + 1) * items / chunks), partial[c]));
        double[] out = partial[0];
        for (int c = 1; c < chunks; c++) {
            double[] p = partial[c];
            for (int j = 0; j < width; j++) out[j] += p[j];
        }
        return out;
    }
}
