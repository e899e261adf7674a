package dev.mambaout.runtime;

/** A grid or block size. */
public record Dim3(int x, int y, int z) {

    public Dim3 {
        if (x <= 0 || y <= 0 || z <= 0) throw new IllegalArgumentException("dimensions must be positive: " + x + "x" + y + "x" + z);
    }

    public static Dim3 of(int x) { return new Dim3(x, 1, 1); }

    public static Dim3 of(int x, int y) { return new Dim3(x, y, 1); }

    public long volume() { return (long) x * y * z; }

    @Override
    public String toString() { return x + "x" + y + "x" + z; }
}
