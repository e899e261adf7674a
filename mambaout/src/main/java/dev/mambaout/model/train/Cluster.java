package dev.mambaout.model.train;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where this process stands in a run over several machines: {@code nodes} processes, one per machine, each driving
 * its machine's GPUs, meeting through a {@code rendezvous} file they all see (dev.mambaout.runtime.dist.FileRendezvous).
 * Each node trains on its shard of every epoch (the sampler's rank = {@code node}) with an equal share of the global
 * batch; node 0 writes the checkpoints, the metrics file, the plot and the final model.
 *
 * @param timeout how long the nodes wait for node 0's NCCL id
 */
public record Cluster(int nodes, int node, Path rendezvous, Duration timeout) {

    /** One machine: no rendezvous. */
    public static final Cluster SINGLE = new Cluster(1, 0, null, Duration.ZERO);

    public Cluster {
        if (nodes < 1) throw new IllegalArgumentException("--nodes must be >= 1, got " + nodes);
        if (node < 0 || node >= nodes) throw new IllegalArgumentException("--node-rank must lie in [0, " + nodes + "), got " + node);
        if (nodes > 1 && rendezvous == null) {
            throw new IllegalArgumentException("a run over " + nodes + " machines needs --rendezvous FILE on storage they all see");
        }
        if (timeout == null || timeout.isNegative()) throw new IllegalArgumentException("the rendezvous timeout must be >= 0");
    }

    /** This node's share of a global batch; the batch must split evenly over the nodes. */
    public int nodeBatch(int globalBatch) {
        if (globalBatch % nodes != 0) {
            throw new IllegalArgumentException("the batch of " + globalBatch + " does not split evenly over " + nodes
                    + " machines: use a multiple of " + nodes);
        }
        return globalBatch / nodes;
    }

    /** Whether this process writes the run's files (checkpoints, metrics, plot, final model). */
    public boolean writes() { return node == 0; }
}
