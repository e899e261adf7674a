package dev.mambaout.runtime.dist;

import dev.mambaout.natives.nccl.NcclDataType;
import dev.mambaout.natives.nccl.NcclRedOp;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * A world of {@code size} in-process ranks for tests without a GPU. Each rank's {@link Communicator} records every
 * call (rank, kind, pointers, count, type, op, root, stream, whether inside a group) in one shared log, in issue
 * order. Collectives match across ranks by their sequence number, as NCCL's do: when the last rank posts its k-th
 * collective, the ranks' k-th calls must agree, and with {@code hostBuffers} the pointers are host addresses whose
 * f32 contents are actually reduced (AVG as the sum divided by the size, in float). {@link Communicator#checkAsync}
 * fails while a collective waits for ranks that never posted theirs: a real world would hang there.
 */
final class FakeWorld {

    /** One call as a rank issued it; {@code seq} is that rank's collective number, {@code grouped} inside a group. */
    record Call(int rank, int seq, String kind, long send, long recv, long count, NcclDataType type, NcclRedOp op,
                int root, long stream, boolean grouped) {}

    private final int size;
    private final boolean hostBuffers;
    private final List<Call> log = new ArrayList<>();
    private final List<List<Call>> posted = new ArrayList<>();
    private int groupDepth;

    FakeWorld(int size, boolean hostBuffers) {
        this.size = size;
        this.hostBuffers = hostBuffers;
        for (int r = 0; r < size; r++) posted.add(new ArrayList<>());
    }

    List<Call> calls() { return List.copyOf(log); }

    Communicator rank(int r) {
        if (r < 0 || r >= size) throw new IllegalArgumentException("rank " + r + " of " + size);
        return new Rank(r);
    }

    private void post(Call c) {
        log.add(c);
        posted.get(c.rank()).add(c);
        int seq = c.seq();
        for (List<Call> p : posted) if (p.size() <= seq) return;
        List<Call> kth = new ArrayList<>();
        for (List<Call> p : posted) kth.add(p.get(seq));
        for (Call other : kth) {
            if (!other.kind().equals(c.kind()) || other.count() != c.count() || other.type() != c.type()
                    || other.op() != c.op() || other.root() != c.root()) {
                throw new IllegalStateException("collective #" + seq + " differs between ranks: " + kth);
            }
        }
        if (hostBuffers) execute(kth);
    }

    private void execute(List<Call> kth) {
        Call first = kth.getFirst();
        if (first.type() != NcclDataType.FLOAT32) {
            throw new UnsupportedOperationException("the fake reduces FLOAT32 only, got " + first.type());
        }
        int n = Math.toIntExact(first.count());
        float[] result = new float[n];
        if (first.kind().equals("broadcast")) {
            MemorySegment.copy(host(kth.get(first.root()).send(), n), JAVA_FLOAT, 0, result, 0, n);
        } else {
            MemorySegment.copy(host(first.send(), n), JAVA_FLOAT, 0, result, 0, n);
            for (Call c : kth.subList(1, kth.size())) {
                float[] v = host(c.send(), n).toArray(JAVA_FLOAT);
                for (int i = 0; i < n; i++) result[i] = combine(first.op(), result[i], v[i]);
            }
            if (first.op() == NcclRedOp.AVG) for (int i = 0; i < n; i++) result[i] /= size;
        }
        for (Call c : kth) MemorySegment.copy(result, 0, host(c.recv(), n), JAVA_FLOAT, 0, n);
    }

    private static float combine(NcclRedOp op, float a, float b) {
        return switch (op) {
            case SUM, AVG -> a + b;
            case PROD -> a * b;
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
        };
    }

    private static MemorySegment host(long address, int floats) {
        return MemorySegment.ofAddress(address).reinterpret(4L * floats);
    }

    private final class Rank implements Communicator {
        private final int rank;
        private int seq;
        private boolean closed;

        Rank(int rank) { this.rank = rank; }

        @Override
        public int rank() { return rank; }

        @Override
        public int size() { return size; }

        @Override
        public void allReduce(long send, long recv, long count, NcclDataType type, NcclRedOp op, long stream) {
            open();
            post(new Call(rank, seq++, "allReduce", send, recv, count, type, op, -1, stream, groupDepth > 0));
        }

        @Override
        public void broadcast(long buffer, long count, NcclDataType type, int root, long stream) {
            open();
            post(new Call(rank, seq++, "broadcast", buffer, buffer, count, type, null, root, stream, groupDepth > 0));
        }

        @Override
        public void group(Runnable issue) {
            groupDepth++;
            try {
                issue.run();
            } finally {
                groupDepth--;
            }
        }

        @Override
        public void checkAsync() {
            open();
            int done = Integer.MAX_VALUE;
            for (List<Call> p : posted) done = Math.min(done, p.size());
            if (posted.get(rank).size() > done) {
                throw new IllegalStateException("rank " + rank + "'s collective #" + done + " ("
                        + posted.get(rank).get(done).kind() + ") waits for ranks that never posted it");
            }
        }

        private void open() {
            if (closed) throw new IllegalStateException("fake rank " + rank + " is closed");
        }

        @Override
        public void close() { closed = true; }
    }
}
