package dev.mambaout.runtime.exec;

/**
 * The values of a graph's parameters, by name, as float in PyTorch's layout: what a checkpoint or a random
 * initialisation provides. The program repacks them into the layouts its kernels read, once, at upload.
 */
@FunctionalInterface
public interface WeightSource {
    /** The parameter's elements, row-major in its graph shape; throws naming the parameter when it has none. */
    float[] values(String name);
}
