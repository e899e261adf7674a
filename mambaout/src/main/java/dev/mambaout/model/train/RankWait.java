package dev.mambaout.model.train;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waits for every rank's part of a data-parallel call without hanging on a dead peer. A rank blocked in a collective
 * whose peer died never returns by itself; NCCL reports the failure asynchronously (ncclCommGetAsyncError), and
 * aborting the communicator releases the blocked ranks. So while any rank is still busy, {@code health} is polled
 * (it throws, after aborting, when a communicator has failed); after a failure the ranks get {@code grace} to come
 * back, and any still running then is cancelled. The first failure is thrown with the others suppressed: a
 * communicator's own error first, since it says why the ranks failed.
 */
final class RankWait {

    private RankWait() {}

    static <T> List<T> all(List<Future<T>> futures, Runnable health, Duration poll, Duration grace) {
        List<T> out = new ArrayList<>(futures.size());
        RuntimeException unhealthy = null;
        Throwable first = null;
        long deadline = Long.MAX_VALUE;
        for (int i = 0; i < futures.size(); i++) {
            Future<T> f = futures.get(i);
            while (true) {
                try {
                    out.add(f.get(poll.toNanos(), TimeUnit.NANOSECONDS));
                    break;
                } catch (TimeoutException busy) {
                    if (unhealthy == null) {
                        try {
                            health.run();
                        } catch (RuntimeException e) {
                            unhealthy = e;
                            deadline = System.nanoTime() + grace.toNanos();
                        }
                    } else if (System.nanoTime() > deadline) {
                        for (Future<T> g : futures) g.cancel(true);
                        unhealthy.addSuppressed(new IllegalStateException("rank " + i + " did not return within "
                                + grace.toSeconds() + " s of the failure and was cancelled"));
                        out.add(null);
                        break;
                    }
                } catch (ExecutionException e) {
                    if (first == null) first = e.getCause();
                    else first.addSuppressed(e.getCause());
                    out.add(null);
                    break;
                } catch (java.util.concurrent.CancellationException e) {
                    out.add(null);
                    break;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    for (Future<T> g : futures) g.cancel(true);
                    throw new IllegalStateException("interrupted while waiting for the ranks", e);
                }
            }
        }
        if (unhealthy != null) {
            if (first != null) unhealthy.addSuppressed(first);
            throw unhealthy;
        }
        if (first != null) {
            if (first instanceof RuntimeException re) throw re;
            if (first instanceof Error err) throw err;
            throw new IllegalStateException("a rank failed: " + first, first);
        }
        return out;
    }
}
