package dev.mambaout.natives.jcuda;

/**
 * Maps a driver handle's value (a {@code long}) back to the JCuda object that carries it, without boxing: the
 * launch path looks up a CUfunction and a CUstream per launch. Reads go to an immutable open-addressing table
 * behind a volatile field and take no lock; writes (creating or destroying a handle, rare) copy the table.
 */
final class HandleTable<T> {

    private record Table(long[] keys, Object[] values, int size) {}

    private volatile Table table = new Table(new long[16], new Object[16], 0);

    T get(long key) {
        Table t = table;
        int mask = t.keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            Object v = t.values[i];
            if (v == null) return null;
            if (t.keys[i] == key) {
                @SuppressWarnings("unchecked") T hit = (T) v;
                return hit;
            }
        }
    }

    synchronized void put(long key, T value) {
        Table t = table;
        int size = t.size + (get(key) == null ? 1 : 0);
        int capacity = t.keys.length;
        while (size * 2 > capacity) capacity *= 2;   // at most half full, so probes stay short and always end
        Table next = new Table(new long[capacity], new Object[capacity], size);
        for (int i = 0; i < t.keys.length; i++) {
            if (t.values[i] != null && t.keys[i] != key) insert(next, t.keys[i], t.values[i]);
        }
        insert(next, key, value);
        table = next;
    }

    synchronized T remove(long key) {
        T old = get(key);
        if (old == null) return null;
        Table t = table;
        Table next = new Table(new long[t.keys.length], new Object[t.keys.length], t.size - 1);
        for (int i = 0; i < t.keys.length; i++) {
            if (t.values[i] != null && t.keys[i] != key) insert(next, t.keys[i], t.values[i]);
        }
        table = next;
        return old;
    }

    private static void insert(Table t, long key, Object value) {
        int mask = t.keys.length - 1;
        int i = slot(key, mask);
        while (t.values[i] != null) i = (i + 1) & mask;
        t.keys[i] = key;
        t.values[i] = value;
    }

    /** Handles are pointers, aligned and clustered: mix the bits before masking. */
    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
