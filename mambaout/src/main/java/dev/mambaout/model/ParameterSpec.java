package dev.mambaout.model;

import dev.mambaout.graph.Graph;
import dev.mambaout.graph.Tensor;

import java.util.Arrays;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every learnable tensor of a model, with timm's name and PyTorch's shape, in timm's registration order, read off
 * the model's graph ({@link MambaOutGraph} declares each parameter where the forward pass uses it): the checkpoint
 * loader and the counts take them from here.
 */
public record ParameterSpec(MambaOutConfig config, List<Param> params) {

    /** One parameter: timm's key and its shape (Linear weights are [out, in]; conv weights [out, in/groups, k, k]). */
    public record Param(String name, List<Integer> shape) {
        public Param {
            shape = List.copyOf(shape);
        }

        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }
    }

    public ParameterSpec {
        params = List.copyOf(params);
    }

    /** The parameters of a configuration: those its graph declares (the walk in {@link MambaOutGraph}). */
    public static ParameterSpec of(MambaOutConfig c) {
        return MambaOutGraph.inference(c, 1, 1, 1).spec();
    }

    /** A graph's parameters in declaration order, which is timm's registration order. */
    static ParameterSpec from(MambaOutConfig c, Graph graph) {
        List<Param> p = new ArrayList<>();
        for (Tensor t : graph.parameters()) p.add(new Param(t.name(), Arrays.stream(t.shape().dims()).boxed().toList()));
        return new ParameterSpec(c, p);
    }

    public long count() {
        return params.stream().mapToLong(Param::numel).sum();
    }

    /** The parameters by timm name, in registration order. */
    public Map<String, Param> byName() {
        Map<String, Param> m = new LinkedHashMap<>();
        for (Param q : params) m.put(q.name(), q);
        return Collections.unmodifiableMap(m);
    }

    /** Whether a parameter belongs to the classifier (the part a lenient load may replace for new num_classes). */
    public static boolean isClassifier(String timmName) {
        return timmName.startsWith("head.fc.");
    }
}
