package dev.mambaout.runtime.exec;

import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.natives.nccl.NcclRedOp;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.Event;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.dist.BucketedAllReduce;
import dev.mambaout.runtime.dist.Communicator;
import dev.mambaout.runtime.dist.GradientBuckets;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Data parallelism inside one training step: the mean of every rank's gradients, all-reduced in DDP's buckets on a
 * communication stream while the rest of the backward pass runs, and joined back before the optimiser reads them.
 * It is the {@link GpuProgram.Interleave} of a {@link GpuTrainProgram}: after the backward step that finishes a
 * bucket, an event orders the communication stream after it and the bucket's all-reduce is queued there; after the
 * last backward step the compute stream waits for the communication stream. The program captures all of it, the
 * collectives included, in its one CUDA graph, so a replay reduces as the eager run did.
 *
 * <p>The flat AdamW layout holds the decayed weights first, then biases and norms, each region in the parameters'
 * forward order, which the backward finishes last first: two open buckets (one per region) give full buckets.
 */
final class GradientAllReduce implements GpuProgram.Interleave, AutoCloseable {

    private final Communicator comm;
    private final GradientBuckets plan;
    private final BucketedAllReduce issue;
    private final Stream side;
    /** The event recorded on the compute stream after each step that finishes a bucket. */
    private final Map<Integer, Event> ready = new HashMap<>();
    private final Event joined;
    private final int lastBackwardStep;

    private GradientAllReduce(Communicator comm, GradientBuckets plan, BucketedAllReduce issue, Stream side,
                              Map<Integer, Event> ready, Event joined, int lastBackwardStep) {
        this.comm = comm;
        this.plan = plan;
        this.issue = issue;
        this.side = side;
        this.ready.putAll(ready);
        this.joined = joined;
        this.lastBackwardStep = lastBackwardStep;
    }

    /**
     * @param gradients the flat f32 gradient buffer's device address
     * @param lowered   the lowered step: its parameters, flat layout and the step finishing each gradient
     */
    static GradientAllReduce plan(Device device, Communicator comm, long gradients, TrainingLowering.Result lowered,
                                  GradientBuckets.Caps caps) {
        GradientBuckets plan = buckets(lowered, caps);
        int last = lowered.optimizerStep() - 1;
        Stream side = device.newStream();
        Map<Integer, Event> events = new HashMap<>();
        Event join = null;
        try {
            for (GradientBuckets.Bucket b : plan.buckets()) {
                if (b.readyStep() > last) {
                    throw new IllegalStateException("gradient bucket " + b.gradients() + " is ready after step "
                            + b.readyStep() + ", past the last backward step " + last);
                }
                if (!events.containsKey(b.readyStep())) events.put(b.readyStep(), device.newEvent());
            }
            join = device.newEvent();
            BucketedAllReduce issue = new BucketedAllReduce(plan,
                    List.of(new BucketedAllReduce.Rank(comm, gradients, side.handle())), NcclDataType.FLOAT32, NcclRedOp.AVG);
            return new GradientAllReduce(comm, plan, issue, side, events, join, last);
        } catch (RuntimeException | Error e) {
            for (Event ev : events.values()) ev.close();
            if (join != null) join.close();
            side.close();
            throw e;
        }
    }

    /** The buckets of a lowered step's flat gradient: its parameters in the order their gradients become final. */
    static GradientBuckets buckets(TrainingLowering.Result lowered, GradientBuckets.Caps caps) {
        int[] steps = lowered.gradientSteps();
        List<GradientBuckets.Gradient> order = new ArrayList<>();
        for (TrainingLowering.Param p : lowered.params()) {
            order.add(new GradientBuckets.Gradient(p.name(), lowered.layout().offset(p.index()) * Float.BYTES,
                    p.numel() * Float.BYTES, steps[p.index()]));
        }
        // Ties (a weight and its bias, finished by one step) in descending offset, the backward's order of the
        // forward layout: so they extend their region's open bucket downwards in turn.
        order.sort(java.util.Comparator.comparingInt(GradientBuckets.Gradient::readyStep)
                .thenComparing(java.util.Comparator.comparingLong(GradientBuckets.Gradient::offset).reversed()));
        return GradientBuckets.plan(order, Float.BYTES, caps, 2);
    }

    @Override
    public void afterStep(int step, Stream stream) {
        if (step > lastBackwardStep) return;
        Event e = ready.get(step);
        if (e != null) {
            e.record(stream);
            side.waitFor(e);
        }
        issue.stepDone(step);
        if (step == lastBackwardStep) {
            issue.backwardDone();
            joined.record(side);
            stream.waitFor(joined);
        }
    }

    GradientBuckets buckets() { return plan; }

    Communicator communicator() { return comm; }

    @Override
    public void close() {
        try {
            side.synchronize();
        } finally {
            for (Event e : ready.values()) e.close();
            joined.close();
            side.close();
        }
    }
}
