package dev.mambaout.model.train;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.nccl.Nccl;
import dev.mambaout.natives.nccl.NcclUniqueId;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.dist.FileRendezvous;
import dev.mambaout.runtime.dist.NcclCommunicator;
import dev.mambaout.runtime.exec.Precision;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Data-parallel training on several GPUs of this machine: a {@link GpuTrainStep} per GPU, each driven by a thread
 * of its own (a CUDA context is current per thread), averaging their gradients through NCCL inside each step's
 * CUDA graph, in buckets overlapped with the backward pass. The trainer's batch is the global one: rank r trains on
 * samples [r b / n, (r + 1) b / n) of each staged batch, so an epoch still visits every sample once, the sample
 * order is the single-GPU run's, and a checkpoint does not depend on the GPU count: a run resumes on any number of
 * GPUs that divides the batch. The ranks start from rank 0's state (broadcast) and apply the same update, so
 * checkpoints and evaluation come from rank 0.
 *
 * <p>Over several machines ({@link Cluster}): one process per machine, each with this class over its GPUs; the
 * trainer of node k stages node k's share of the global batch from its shard of the epoch, and the ranks of all
 * nodes (node k's GPU i is rank k n + i) meet through a file rendezvous and average their gradients together.
 *
 * <p>Set {@code NCCL_NVLS_ENABLE=0} in the environment where NVLink multicast must stay off (NCCL reads it when the
 * communicators are made).
 */
public final class DataParallelTrainStep implements TrainStep {

    private final TrainConfig config;
    private final Cluster cluster;
    private final int nodeBatch;
    private final int[] ordinals;
    private final int share;
    private final List<ExecutorService> threads = new ArrayList<>();
    private final List<NcclCommunicator> comms;
    private final List<GpuTrainStep> ranks = new ArrayList<>();
    /** The communicators polled while the ranks work (null while they are being made). */
    private volatile List<NcclCommunicator> watched;
    private static final java.time.Duration POLL = java.time.Duration.ofMillis(200), GRACE = java.time.Duration.ofSeconds(30);

    /**
     * @param config   the run, with the global batch (a multiple of the number of GPUs)
     * @param ordinals the GPUs, rank i on {@code ordinals[i]}
     * @throws CudaUnavailableException when there is no usable GPU, too few of them, or no NCCL
     */
    public DataParallelTrainStep(TrainConfig config, TrainState initial, Precision precision, CudaDriver.Backend backend,
                                 int[] ordinals) {
        this(config, initial, precision, backend, ordinals, Cluster.SINGLE);
    }

    /**
     * This machine's part of a run over {@code cluster}: its steps take this node's share of the global batch
     * ({@link Cluster#nodeBatch}), split evenly over {@code ordinals}.
     */
    public DataParallelTrainStep(TrainConfig config, TrainState initial, Precision precision, CudaDriver.Backend backend,
                                 int[] ordinals, Cluster cluster) {
        int n = ordinals.length;
        if (n < 1) throw new IllegalArgumentException("data-parallel training needs at least one GPU");
        Set<Integer> seen = new HashSet<>();
        for (int o : ordinals) {
            if (o < 0 || !seen.add(o)) {
                throw new IllegalArgumentException("GPU ordinals must be distinct and >= 0, got " + java.util.Arrays.toString(ordinals));
            }
        }
        int world = cluster.nodes() * n;
        if (config.batch() % world != 0) {
            throw new IllegalArgumentException("the batch of " + config.batch() + " does not split evenly over " + world
                    + " GPUs: use a multiple of " + world);
        }
        Cuda.Availability a = Cuda.availability(backend);
        if (!a.available()) throw new CudaUnavailableException("no usable GPU (" + backend + " backend): " + a.reason());
        int count = Cuda.open(backend).deviceCount();
        for (int o : ordinals) {
            if (o >= count) {
                throw new CudaUnavailableException("GPU " + o + " was asked for, but this machine has " + count
                        + " (ordinals 0.." + (count - 1) + ")");
            }
        }
        Nccl.version();   // a missing libnccl fails here, naming where it looked, before any GPU work
        this.config = config;
        this.cluster = cluster;
        this.nodeBatch = cluster.nodeBatch(config.batch());
        this.ordinals = ordinals.clone();
        this.share = nodeBatch / n;
        TrainConfig perRank = new TrainConfig(config.model(), config.imageSize(), share, config.epochs(), config.lr(),
                config.weightDecay(), config.schedule(), config.warmupPct(), config.labelSmoothing(), config.clipGrad(),
                config.seed());
        for (int i = 0; i < n; i++) {
            int rank = i;
            threads.add(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "mambaout-gpu" + ordinals[rank]);
                t.setDaemon(true);
                return t;
            }));
        }
        try {
            this.comms = communicators(backend, world);
            this.watched = comms;
        } catch (RuntimeException | Error e) {
            for (ExecutorService t : threads) t.shutdownNow();
            throw e;
        }
        try {
            // Each rank's slot is written by its own thread; Future.get orders those writes before the reads here.
            GpuTrainStep[] built = new GpuTrainStep[n];
            try {
                onEveryRank(i -> {
                    built[i] = new GpuTrainStep(perRank, initial, precision, backend, this.ordinals[i], comms.get(i));
                    return null;
                });
            } finally {
                for (GpuTrainStep b : built) if (b != null) ranks.add(b);
            }
            onEveryRank(i -> {
                ranks.get(i).program().broadcastState();
                return null;
            });
        } catch (RuntimeException | Error e) {
            closeAll(e);
            throw e;
        }
    }

    /**
     * One machine: {@code ncclCommInitAll} over its GPUs. Several: node 0's id through the rendezvous file, then each
     * rank joins from its own thread with its device current (every rank of every node blocks until all have).
     */
    private List<NcclCommunicator> communicators(CudaDriver.Backend backend, int world) {
        if (cluster.nodes() == 1) return NcclCommunicator.initAll(ordinals);
        NcclUniqueId id = FileRendezvous.exchange(cluster.rendezvous(), cluster.node(), Nccl::uniqueId, cluster.timeout());
        NcclCommunicator[] made = new NcclCommunicator[ordinals.length];
        try {
            onEveryRank(i -> {
                try (Device d = Device.open(Cuda.open(backend), ordinals[i])) {
                    made[i] = NcclCommunicator.initRank(world, id, cluster.node() * ordinals.length + i);
                }
                return null;
            });
        } catch (RuntimeException | Error e) {
            for (NcclCommunicator c : made) if (c != null) c.close();
            throw e;
        }
        return List.of(made);
    }

    private interface RankCall<T> {
        T call(int rank);
    }

    /**
     * Runs {@code call} on every rank's thread at once (their collectives meet each other) and waits for all
     * ({@link RankWait}: a failed communicator is aborted rather than waited on forever); the first failure is
     * rethrown after every rank has finished, so no rank is left running on a closed peer.
     */
    private <T> List<T> onEveryRank(RankCall<T> call) {
        List<Future<T>> futures = new ArrayList<>();
        for (int i = 0; i < threads.size(); i++) {
            int rank = i;
            Callable<T> c = () -> call.call(rank);
            futures.add(threads.get(i).submit(c));
        }
        return RankWait.all(futures, this::checkPeers, POLL, GRACE);
    }

    /** Throws (after aborting it) if a communicator failed asynchronously: a peer died or a link broke. */
    private void checkPeers() {
        List<NcclCommunicator> c = watched;
        if (c != null) for (NcclCommunicator x : c) x.checkAsync();
    }

    @Override
    public StagingBuffer stagingBuffer(int capacity) { return ranks.getFirst().stagingBuffer(capacity); }

    /** Rank r's samples of a staged global batch, without copying. */
    private record Share(int capacity, int sampleFloats, MemorySegment images, MemorySegment labels) implements StagingBuffer {
        static Share of(StagingBuffer b, int rank, int share) {
            long first = (long) rank * share;
            return new Share(share, b.sampleFloats(),
                    b.images().asSlice(first * b.sampleFloats() * Float.BYTES, (long) share * b.sampleFloats() * Float.BYTES),
                    b.labels().asSlice(first * Integer.BYTES, (long) share * Integer.BYTES));
        }
    }

    @Override
    public StepResult step(StagingBuffer batch, int count, double lr) {
        if (count != nodeBatch) {
            throw new IllegalArgumentException("the training step takes this machine's " + nodeBatch + " samples of the "
                    + config.batch() + "-sample batch, got " + count);
        }
        List<StepResult> results = onEveryRank(i -> ranks.get(i).step(Share.of(batch, i, share), share, lr));
        double loss = 0;
        int correct = 0;
        for (StepResult r : results) {
            loss += r.loss();
            correct += r.correct();
        }
        // This node's mean loss is the mean of its ranks' (equal shares); the norm is of the averaged gradients, the
        // same on every rank of every node.
        return new StepResult(loss / results.size(), correct, results.getFirst().gradNorm());
    }

    @Override
    public float[] logits(StagingBuffer batch, int count) { return onRankZero(() -> ranks.getFirst().logits(batch, count)); }

    @Override
    public long completedSteps() { return ranks.getFirst().completedSteps(); }

    @Override
    public TrainState state() { return onRankZero(() -> ranks.getFirst().state()); }

    /** The ranks' steps (tests: each rank's gradients, which the all-reduce made equal). */
    List<GpuTrainStep> ranks() { return List.copyOf(ranks); }

    private <T> T onRankZero(Callable<T> c) {
        try {
            return threads.getFirst().submit(c).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException("rank 0 failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for rank 0", e);
        }
    }

    @Override
    public String describe() {
        var buckets = ranks.getFirst().program().gradientBuckets();
        String where = cluster.nodes() == 1 ? "" : "node " + cluster.node() + " of " + cluster.nodes() + ": ";
        return where + ordinals.length + " GPUs " + java.util.Arrays.toString(ordinals) + ", data parallel through NCCL "
                + Nccl.version() + " (" + share + " samples per GPU, " + buckets.buckets().size()
                + " gradient buckets overlapped with the backward pass); rank 0: " + ranks.getFirst().describe();
    }

    @Override
    public void close() { closeAll(null); }

    private void closeAll(Throwable cause) {
        RuntimeException first = null;
        if (!ranks.isEmpty()) {
            try {
                onEveryRank(i -> {
                    if (i < ranks.size()) ranks.get(i).close();
                    return null;
                });
            } catch (RuntimeException e) {
                first = e;
            }
            ranks.clear();
        }
        for (NcclCommunicator c : comms) {
            try {
                c.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        for (ExecutorService t : threads) t.shutdownNow();
        threads.clear();
        if (first != null) {
            if (cause != null) cause.addSuppressed(first);
            else throw first;
        }
    }
}
