package dev.mambaout.runtime;

/**
 * Launches that run as one unit, in order on one stream (a kernel and the reduce that reads its partials, the
 * optimizer's norm and its update): prepared together, queued together, closed together. Queuing allocates nothing.
 */
public final class LaunchSequence implements AutoCloseable {

    /** Prepares one launch of a sequence. */
    @FunctionalInterface
    public interface Maker {
        Launch prepare();
    }

    private final Launch[] launches;

    private LaunchSequence(Launch[] launches) { this.launches = launches; }

    /** Prepares each launch in turn; if one fails, those already prepared are closed and the failure rethrown. */
    public static LaunchSequence prepare(Maker... makers) {
        Launch[] l = new Launch[makers.length];
        int made = 0;
        try {
            for (; made < makers.length; made++) l[made] = makers[made].prepare();
            return new LaunchSequence(l);
        } catch (RuntimeException e) {
            for (int j = 0; j < made; j++) {
                try {
                    l[j].close();
                } catch (RuntimeException c) {
                    e.addSuppressed(c);
                }
            }
            throw e;
        }
    }

    /** The i-th launch, in queue order. */
    public Launch get(int i) { return launches[i]; }

    public int size() { return launches.length; }

    /** Queues every launch on {@code stream}, in order. */
    public void launch(Stream stream) {
        for (Launch l : launches) l.launch(stream);
    }

    /** Queues the first {@code count} launches on {@code stream}, in order. */
    public void launchFirst(int count, Stream stream) {
        if (count < 0 || count > launches.length) {
            throw new IllegalArgumentException("count must be in [0, " + launches.length + "], was " + count);
        }
        for (int i = 0; i < count; i++) launches[i].launch(stream);
    }

    /** Closes every launch, even when one fails (the first failure is thrown, the others suppressed into it). */
    @Override
    public void close() {
        RuntimeException first = null;
        for (Launch l : launches) {
            try {
                l.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
