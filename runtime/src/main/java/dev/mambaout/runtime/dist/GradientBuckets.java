package dev.mambaout.runtime.dist;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which ranges of the flat gradient buffer to all-reduce together, and after which backward step each may go:
 * PyTorch DDP's gradient buckets, as plain arithmetic. A bucket is one contiguous range, so it is one all-reduce in
 * place with no copy into a staging buffer; buckets are disjoint and cover every gradient byte exactly once.
 *
 * <p>The walk follows the gradients in the order the backward pass finishes them. A gradient joins the open bucket
 * when it is that bucket's neighbour in the buffer (no other gradient lies between them: just above its top or just
 * below its bottom) and the bucket stays within its cap; otherwise the open bucket closes and a new one starts. A
 * bucket therefore holds gradients finished one after another, and may be reduced after its last member's step
 * (the largest of its members'), while later backward steps still run. The alignment padding between neighbours
 * travels with their bucket.
 *
 * <p>So the flat layout decides the buckets: one that follows the backward order (or its reverse, e.g. parameters in
 * forward order, which the backward finishes last layer first) gives DDP's buckets, near the cap each; any other
 * layout stays correct but breaks buckets wherever backward neighbours are not buffer neighbours, down to one
 * bucket per gradient. The alternative, packing in buffer order and waiting for each pack's slowest member, would
 * let one early and one late gradient hold a whole bucket back to the end of the backward pass; small buckets still
 * overlap with compute, and the layout is ours to choose.
 */
public record GradientBuckets(List<Bucket> buckets, int elementBytes) {

    /** PyTorch DDP's {@code bucket_cap_mb} default, 25 MiB. */
    public static final long DDP_BUCKET_BYTES = 25L << 20;
    /** DDP's first bucket, 1 MiB: the first all-reduce starts as early as possible. */
    public static final long DDP_FIRST_BUCKET_BYTES = 1L << 20;

    /** One parameter's gradient: where it lies in the flat buffer and after which backward step it is final. */
    public record Gradient(String name, long offset, long bytes, int readyStep) {
        public Gradient {
            if (name == null || name.isBlank()) throw new IllegalArgumentException("a gradient needs a name");
            if (offset < 0) throw new IllegalArgumentException("gradient " + name + ": offset " + offset + " < 0");
            if (bytes <= 0) throw new IllegalArgumentException("gradient " + name + ": " + bytes + " bytes");
            if (readyStep < 0) {
                throw new IllegalArgumentException("gradient " + name + ": ready step " + readyStep + " < 0");
            }
        }

        public long end() { return offset + bytes; }
    }

    /**
     * A range of the flat buffer reduced by one collective after backward step {@code readyStep}, holding the
     * named gradients in the order they finish.
     */
    public record Bucket(long offset, long bytes, int readyStep, List<String> gradients) {
        public Bucket {
            gradients = List.copyOf(gradients);
        }

        public long end() { return offset + bytes; }
    }

    /** The largest bucket, and the first one's (which can be smaller, to start communicating early). */
    public record Caps(long firstBucketBytes, long bucketBytes) {
        /** DDP's defaults: 1 MiB, then 25 MiB. */
        public static final Caps DDP = new Caps(DDP_FIRST_BUCKET_BYTES, DDP_BUCKET_BYTES);

        public Caps {
            if (firstBucketBytes <= 0 || bucketBytes <= 0) {
                throw new IllegalArgumentException("bucket caps must be positive, got first " + firstBucketBytes
                        + ", then " + bucketBytes);
            }
        }

        /** The same cap for every bucket. */
        public static Caps uniform(long bytes) { return new Caps(bytes, bytes); }
    }

    public GradientBuckets {
        buckets = List.copyOf(buckets);
    }

    /**
     * Plans the buckets.
     *
     * @param inBackwardOrder every parameter's gradient, in the order the backward pass finishes them (ready steps
     *                        never decrease along the list)
     * @param elementBytes    the gradient element size (4 for f32): offsets and sizes must be whole elements, since
     *                        a collective counts elements
     * @param caps            the bucket caps; a gradient larger than the cap gets a bucket of its own
     */
    public static GradientBuckets plan(List<Gradient> inBackwardOrder, int elementBytes, Caps caps) {
        return plan(inBackwardOrder, elementBytes, caps, 1);
    }

    /**
     * Plans the buckets with up to {@code openBuckets} buckets open at once: a gradient joins any open bucket it
     * neighbours (within the cap); when it neighbours none, a new bucket opens, closing the one extended longest ago
     * if {@code openBuckets} are open. A flat layout of several regions, each in backward order (the AdamW layout:
     * the decayed weights first, then biases and norms), so gets one open bucket per region and full buckets in
     * each, where one open bucket would close at every jump between the regions. The buckets come out in the
     * order of their ready steps (ties: the order they closed), the order they are issued in.
     */
    public static GradientBuckets plan(List<Gradient> inBackwardOrder, int elementBytes, Caps caps, int openBuckets) {
        if (openBuckets < 1) throw new IllegalArgumentException("at least one open bucket, got " + openBuckets);
        if (inBackwardOrder.isEmpty()) throw new IllegalArgumentException("no gradients to bucket");
        if (elementBytes <= 0) throw new IllegalArgumentException("element size " + elementBytes + " bytes");
        int n = inBackwardOrder.size();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < n; i++) {
            Gradient g = inBackwardOrder.get(i);
            if (!names.add(g.name())) throw new IllegalArgumentException("gradient " + g.name() + " is listed twice");
            if (g.offset() % elementBytes != 0 || g.bytes() % elementBytes != 0) {
                throw new IllegalArgumentException("gradient " + g.name() + " at byte " + g.offset() + ", " + g.bytes()
                        + " bytes, is not whole " + elementBytes + "-byte elements");
            }
            if (i > 0 && g.readyStep() < inBackwardOrder.get(i - 1).readyStep()) {
                Gradient before = inBackwardOrder.get(i - 1);
                throw new IllegalArgumentException("gradient " + g.name() + " (ready after step " + g.readyStep()
                        + ") is listed after " + before.name() + " (ready after step " + before.readyStep()
                        + "): list the gradients in the order the backward pass finishes them");
            }
        }
        // Each gradient's position in buffer order: neighbours in the buffer are positions p and p + 1.
        Integer[] byOffset = new Integer[n];
        for (int i = 0; i < n; i++) byOffset[i] = i;
        Arrays.sort(byOffset, (a, b) -> Long.compare(inBackwardOrder.get(a).offset(), inBackwardOrder.get(b).offset()));
        int[] position = new int[n];
        for (int p = 0; p < n; p++) {
            position[byOffset[p]] = p;
            if (p > 0) {
                Gradient lower = inBackwardOrder.get(byOffset[p - 1]), upper = inBackwardOrder.get(byOffset[p]);
                if (lower.end() > upper.offset()) {
                    throw new IllegalArgumentException("gradients " + lower.name() + " [" + lower.offset() + ", "
                            + lower.end() + ") and " + upper.name() + " [" + upper.offset() + ", " + upper.end()
                            + ") overlap in the flat buffer");
                }
            }
        }

        List<Bucket> out = new ArrayList<>();
        List<Open> open = new ArrayList<>();   // least recently extended first
        int opened = 0;
        for (int i = 0; i < n; i++) {
            Gradient g = inBackwardOrder.get(i);
            int p = position[i];
            Open joined = null;
            for (Open o : open) {
                if ((p == o.hi + 1 || p == o.lo - 1)
                        && span(inBackwardOrder, byOffset, Math.min(o.lo, p), Math.max(o.hi, p)) <= o.cap) {
                    joined = o;
                    break;
                }
            }
            if (joined == null) {
                // A neighbour that would pass its cap is full: it closes rather than waiting as the oldest.
                for (int k = 0; k < open.size(); k++) {
                    Open o = open.get(k);
                    if (p == o.hi + 1 || p == o.lo - 1) {
                        out.add(o.close(inBackwardOrder, byOffset));
                        open.remove(k);
                        break;
                    }
                }
                if (open.size() == openBuckets) out.add(open.removeFirst().close(inBackwardOrder, byOffset));
                joined = new Open(p, opened++ == 0 ? caps.firstBucketBytes() : caps.bucketBytes());
            } else {
                open.remove(joined);
                joined.lo = Math.min(joined.lo, p);
                joined.hi = Math.max(joined.hi, p);
            }
            joined.members.add(g.name());
            joined.ready = g.readyStep();   // the largest so far: ready steps never decrease along the list
            open.add(joined);
        }
        for (Open o : open) out.add(o.close(inBackwardOrder, byOffset));
        out.sort(java.util.Comparator.comparingInt(Bucket::readyStep));   // stable: ties keep their closing order
        return new GradientBuckets(out, elementBytes);
    }

    /** A bucket still taking gradients: buffer positions [lo, hi] of the gradients sorted by offset. */
    private static final class Open {
        int lo, hi, ready;
        final long cap;
        final List<String> members = new ArrayList<>();

        Open(int position, long cap) {
            this.lo = position;
            this.hi = position;
            this.cap = cap;
        }

        Bucket close(List<Gradient> grads, Integer[] byOffset) { return bucket(grads, byOffset, lo, hi, ready, members); }
    }

    private static long span(List<Gradient> grads, Integer[] byOffset, int lo, int hi) {
        return grads.get(byOffset[hi]).end() - grads.get(byOffset[lo]).offset();
    }

    private static Bucket bucket(List<Gradient> grads, Integer[] byOffset, int lo, int hi, int ready,
                                 List<String> members) {
        long start = grads.get(byOffset[lo]).offset();
        return new Bucket(start, span(grads, byOffset, lo, hi), ready, members);
    }

    /** Elements in a bucket: its collective's count. */
    public long elements(Bucket b) { return b.bytes() / elementBytes; }
}
