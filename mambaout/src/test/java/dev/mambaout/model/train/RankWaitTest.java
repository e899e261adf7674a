package dev.mambaout.model.train;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Waiting for the ranks: results in rank order, a rank's failure rethrown, a dead peer not waited on forever. */
class RankWaitTest {

    private static final Duration POLL = Duration.ofMillis(20);

    @Test
    void returnsEveryRanksResultInOrderPollingWhileTheyWork() {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        AtomicInteger polls = new AtomicInteger();
        try {
            List<Future<Integer>> f = List.of(pool.submit(() -> sleepThen(150, 0)), pool.submit(() -> 1), pool.submit(() -> sleepThen(50, 2)));
            assertEquals(List.of(0, 1, 2), RankWait.all(f, polls::incrementAndGet, POLL, Duration.ofSeconds(5)));
            assertTrue(polls.get() >= 3, "polled while rank 0 worked: " + polls.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRanksFailureIsRethrownAfterTheOthersFinish() {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            IllegalArgumentException boom = new IllegalArgumentException("rank 1: out of device memory");
            AtomicInteger finished = new AtomicInteger();
            List<Future<Integer>> f = List.of(pool.submit(() -> {
                Thread.sleep(100);
                finished.incrementAndGet();
                return 0;
            }), pool.submit(() -> {
                throw boom;
            }));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RankWait.all(f, () -> {}, POLL, Duration.ofSeconds(5)));
            assertSame(boom, e);
            assertEquals(1, finished.get(), "rank 0 finished before the failure was thrown");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailedCommunicatorStopsTheWaitAndARankThatNeverReturnsIsCancelled() {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch never = new CountDownLatch(1);
            AtomicInteger polls = new AtomicInteger();
            IllegalStateException dead = new IllegalStateException("ncclCommGetAsyncError: ncclRemoteError (rank 1 of 2)");
            Future<Integer> stuck = pool.submit(() -> {
                never.await();
                return 0;
            });
            List<Future<Integer>> f = List.of(stuck, CompletableFuture.completedFuture(1));
            long t0 = System.nanoTime();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> RankWait.all(f, () -> {
                if (polls.incrementAndGet() == 3) throw dead;
            }, POLL, Duration.ofMillis(200)));
            assertSame(dead, e);
            assertTrue(e.getSuppressed()[0].getMessage().contains("rank 0 did not return within 0 s of the failure"),
                    e.getSuppressed()[0].getMessage());
            assertTrue(stuck.isCancelled());
            assertTrue((System.nanoTime() - t0) / 1e9 < 5, "gave up after the grace period");
        } finally {
            pool.shutdownNow();
        }
    }

    private static int sleepThen(long ms, int v) throws InterruptedException {
        Thread.sleep(ms);
        return v;
    }
}
