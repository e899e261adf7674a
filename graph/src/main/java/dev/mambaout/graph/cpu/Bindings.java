package dev.mambaout.graph.cpu;

import dev.mambaout.graph.Tensor;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Values for a graph's inputs and parameters, by tensor name. Arrays are held by reference and read once per run
 * (copied into the executor's precision), so one Bindings can serve many runs.
 */
public final class Bindings {
    final Map<String, double[]> doubles = new HashMap<>();
    final Map<String, float[]> floats = new HashMap<>();
    final Map<String, int[]> labels = new HashMap<>();
    final Map<String, Long> counters = new HashMap<>();

    public Bindings put(Tensor t, double[] values) { return put(t.name(), values); }

    public Bindings put(Tensor t, float[] values) { return put(t.name(), values); }

    public Bindings put(String name, double[] values) {
        Objects.requireNonNull(values, name);
        floats.remove(name);
        doubles.put(name, values);
        return this;
    }

    public Bindings put(String name, float[] values) {
        Objects.requireNonNull(values, name);
        doubles.remove(name);
        floats.put(name, values);
        return this;
    }

    public Bindings putLabels(Tensor t, int[] values) {
        labels.put(t.name(), Objects.requireNonNull(values, t.name()));
        return this;
    }

    /** Class indices given as long (PyTorch's int64 labels); each must fit an int. */
    public Bindings putLabels(Tensor t, long[] values) {
        int[] v = new int[values.length];
        for (int i = 0; i < v.length; i++) {
            if (values[i] != (int) values[i]) throw new IllegalArgumentException(t.name() + "[" + i + "] = " + values[i] + " is not a class index");
            v[i] = (int) values[i];
        }
        return putLabels(t, v);
    }

    /** The value of an I64 [1] counter (the training step that keys drop-path masks). */
    public Bindings putCounter(Tensor t, long value) {
        counters.put(t.name(), value);
        return this;
    }

    boolean has(String name) {
        return doubles.containsKey(name) || floats.containsKey(name) || labels.containsKey(name) || counters.containsKey(name);
    }
}
