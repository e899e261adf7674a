package dev.mambaout.graph.cpu;

import dev.mambaout.graph.Graph;
import dev.mambaout.graph.Tensor;

import java.util.Map;

/** The outputs of one run, in the executor's precision (F32 values are exactly representable as float). */
public final class Results {
    private final Graph graph;
    private final Map<Integer, double[]> values;

    Results(Graph graph, Map<Integer, double[]> values) {
        this.graph = graph;
        this.values = values;
    }

    /** The value of an output tensor; the array is the result itself, not a copy. */
    public double[] doubles(Tensor t) {
        double[] v = values.get(t.id());
        if (v == null) throw new IllegalArgumentException(t + " is not an output of the graph that ran; mark it with output()");
        return v;
    }

    public double[] doubles(String name) {
        return doubles(graph.tensor(name));
    }

    public float[] floats(Tensor t) {
        double[] d = doubles(t);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    public float[] floats(String name) {
        return floats(graph.tensor(name));
    }

    /** The single value of a one-element output (a loss). */
    public double scalar(Tensor t) {
        double[] d = doubles(t);
        if (d.length != 1) throw new IllegalArgumentException(t + " has " + d.length + " elements, not one");
        return d[0];
    }
}
