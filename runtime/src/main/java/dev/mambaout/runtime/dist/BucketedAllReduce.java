package dev.mambaout.runtime.dist;

import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.natives.nccl.NcclRedOp;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Issues a {@link GradientBuckets} plan's all-reduces while the backward pass is being queued: after each backward
 * step the caller reports it with {@link #stepDone}, and every bucket ready after that step is reduced in place, on
 * each local rank's communication stream, in plan order, as one group. Ordering the communication stream after the
 * compute stream (an event per step) and the optimizer after the communication stream is the caller's, who owns
 * the streams; this class only decides what goes when, so a whole training step can be captured in one CUDA graph.
 */
public final class BucketedAllReduce {

    /** One rank driven by this process: its communicator, its flat gradient buffer, its communication stream. */
    public record Rank(Communicator communicator, long gradients, long stream) {
        public Rank {
            if (communicator == null) throw new IllegalArgumentException("a rank needs a communicator");
            if (gradients == 0) throw new IllegalArgumentException("rank " + communicator.rank() + ": null gradients");
        }
    }

    private final GradientBuckets plan;
    private final List<Rank> ranks;
    private final NcclDataType type;
    private final NcclRedOp op;
    private int next;
    private int lastStep = -1;

    /**
     * @param ranks the ranks this process drives (all of them for one process and several GPUs, one for one rank
     *              per process), each of the same world
     * @param op    {@link NcclRedOp#AVG} for DDP's mean of the ranks' gradients
     */
    public BucketedAllReduce(GradientBuckets plan, List<Rank> ranks, NcclDataType type, NcclRedOp op) {
        if (ranks.isEmpty()) throw new IllegalArgumentException("no ranks to reduce over");
        if (type.bytes() != plan.elementBytes()) {
            throw new IllegalArgumentException(type + " is " + type.bytes() + "-byte elements; the plan counts "
                    + plan.elementBytes() + "-byte elements");
        }
        int size = ranks.getFirst().communicator().size();
        Set<Integer> seen = new HashSet<>();
        for (Rank r : ranks) {
            Communicator c = r.communicator();
            if (c.size() != size) {
                throw new IllegalArgumentException("rank " + c.rank() + " belongs to a world of " + c.size()
                        + ", rank " + ranks.getFirst().communicator().rank() + " to one of " + size);
            }
            if (!seen.add(c.rank())) throw new IllegalArgumentException("rank " + c.rank() + " is listed twice");
        }
        this.plan = plan;
        this.ranks = List.copyOf(ranks);
        this.type = type;
        this.op = op;
    }

    /**
     * Backward step {@code step} has been queued: issues every bucket that became ready, those of skipped steps
     * included. Steps must increase within one backward pass.
     */
    public void stepDone(int step) {
        if (step <= lastStep) {
            throw new IllegalStateException("backward step " + step + " reported after step " + lastStep
                    + "; call backwardDone() between passes");
        }
        lastStep = step;
        List<GradientBuckets.Bucket> buckets = plan.buckets();
        int from = next;
        while (next < buckets.size() && buckets.get(next).readyStep() <= step) next++;
        if (next == from) return;
        List<GradientBuckets.Bucket> ready = buckets.subList(from, next);
        Runnable issue = () -> {
            for (GradientBuckets.Bucket b : ready) {
                for (Rank r : ranks) {
                    long p = r.gradients() + b.offset();
                    r.communicator().allReduce(p, p, plan.elements(b), type, op, r.stream());
                }
            }
        };
        if (ready.size() * ranks.size() == 1) issue.run();
        else ranks.getFirst().communicator().group(issue);
    }

    /**
     * The backward pass is fully queued: every bucket must have gone (a bucket still waiting means its ready step was
     * never reported, a plan that does not match the program). Resets for the next pass.
     */
    public void backwardDone() {
        List<GradientBuckets.Bucket> buckets = plan.buckets();
        if (next < buckets.size()) {
            List<String> waiting = new ArrayList<>();
            for (GradientBuckets.Bucket b : buckets.subList(next, buckets.size())) {
                waiting.add(b.gradients() + " (ready after step " + b.readyStep() + ")");
            }
            String message = "the backward pass ended after step " + lastStep + " with " + waiting.size()
                    + " bucket(s) not reduced: " + String.join(", ", waiting);
            next = 0;
            lastStep = -1;
            throw new IllegalStateException(message);
        }
        next = 0;
        lastStep = -1;
    }
}
