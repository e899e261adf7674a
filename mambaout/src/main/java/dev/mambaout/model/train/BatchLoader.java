package dev.mambaout.model.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Stages batches on a background thread: while the step works on one buffer the thread decodes the next batch into
 * another, so with two buffers (double buffering) the step waits for data only when decoding is the slower side.
 * Buffers come from the caller and go back through {@link #release}, so no memory is allocated per batch.
 * One loader serves one pass over an index order (an epoch, or the test set), from a given batch on.
 */
public final class BatchLoader implements AutoCloseable {

    /** A staged batch: {@code count} samples in {@code buffer}, the {@code index}-th batch of the pass. */
    public record Batch(StagingBuffer buffer, int count, int index) {}

    /** What the thread hands over: a batch, the end of the pass, or the failure that stopped it. */
    private sealed interface Item {
        record Staged(Batch batch) implements Item {}
        record End() implements Item {}
        record Failed(Throwable error) implements Item {}
    }

    private final BlockingQueue<StagingBuffer> free;
    private final BlockingQueue<Item> ready;
    private final Thread thread;
    private boolean ended;

    /**
     * @param order      sample indices in visiting order
     * @param batch      samples per batch
     * @param dropLast   leave out a final partial batch (training: the step's graph has one batch size)
     * @param firstBatch the batch to start from (a resumed epoch)
     * @param buffers    at least one; two give double buffering
     */
    public BatchLoader(Dataset data, int[] order, int batch, boolean dropLast, int firstBatch, List<StagingBuffer> buffers) {
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        if (buffers.isEmpty()) throw new IllegalArgumentException("the loader needs at least one staging buffer");
        for (StagingBuffer b : buffers) {
            if (b.capacity() < batch || b.sampleFloats() != data.sampleFloats()) {
                throw new IllegalArgumentException("staging buffer of " + b.capacity() + " x " + b.sampleFloats()
                        + " floats cannot hold batches of " + batch + " x " + data.sampleFloats());
            }
        }
        int batches = dropLast ? order.length / batch : (order.length + batch - 1) / batch;
        if (firstBatch < 0 || firstBatch > batches) {
            throw new IllegalArgumentException("first batch " + firstBatch + " outside the pass's " + batches + " batches");
        }
        this.free = new ArrayBlockingQueue<>(buffers.size(), false, buffers);
        this.ready = new ArrayBlockingQueue<>(buffers.size() + 1);
        this.thread = Thread.ofPlatform().daemon().name("mambaout-batch-loader").unstarted(() -> {
            try {
                float[] image = new float[data.sampleFloats()];
                for (int b = firstBatch; b < batches; b++) {
                    StagingBuffer buf = free.take();
                    int from = b * batch, count = Math.min(batch, order.length - from);
                    for (int k = 0; k < count; k++) {
                        int i = order[from + k];
                        data.image(i, image, 0);
                        buf.put(k, image, data.label(i));
                    }
                    ready.put(new Item.Staged(new Batch(buf, count, b)));
                }
                ready.put(new Item.End());
            } catch (InterruptedException e) {
                // close() stops the thread; nobody waits for its items any more.
            } catch (Throwable e) {
                ready.offer(new Item.Failed(e));
            }
        });
        thread.start();
    }

    /**
     * The next batch, or null at the end of the pass. A failure of the loading thread (an unreadable image) is
     * thrown here, on the caller's thread.
     */
    public Batch next() throws IOException {
        if (ended) return null;
        Item item;
        try {
            item = ready.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch", e);
        }
        return switch (item) {
            case Item.Staged s -> s.batch();
            case Item.End e -> {
                ended = true;
                yield null;
            }
            case Item.Failed f -> {
                ended = true;
                switch (f.error()) {
                    case IOException io -> throw io;
                    case UncheckedIOException u -> throw u.getCause();
                    case RuntimeException r -> throw r;
                    case Error err -> throw err;
                    default -> throw new IllegalStateException("batch loading failed", f.error());
                }
            }
        };
    }

    /** Hands a batch's buffer back for the thread to fill again. */
    public void release(Batch batch) {
        if (!free.offer(batch.buffer())) throw new IllegalStateException("a buffer was released twice");
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
