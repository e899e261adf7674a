package dev.mambaout.graph;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A forward graph with its backward graph in one schedule.
 *
 * @param graph     forward + backward ops; outputs are the forward outputs, the loss and every gradient
 * @param loss      the scalar that was differentiated
 * @param gradients for every parameter and floating input (keys, in declaration order), its gradient tensor
 */
public record TrainingGraph(Graph graph, Tensor loss, Map<Tensor, Tensor> gradients) {

    public TrainingGraph {
        gradients = Collections.unmodifiableMap(new LinkedHashMap<>(gradients));
    }

    /** The gradient of a parameter or input of the forward graph. */
    public Tensor gradient(Tensor of) {
        Tensor g = gradients.get(of);
        if (g == null) throw new IllegalArgumentException("no gradient for " + of + ": only parameters and floating inputs have one");
        return g;
    }

    /** The gradient of the parameter or input with that name. */
    public Tensor gradient(String name) {
        return gradient(graph.tensor(name));
    }
}
