package dev.mambaout.kernels;

/**
 * Grid, block and dynamic shared memory of one launch, as a kernel family's geometry class computes them from the
 * problem's sizes, so the kernel's indexing and its launch are decided in one place.
 */
public record LaunchGeometry(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {

    public LaunchGeometry {
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0 || blockX <= 0 || blockY <= 0 || blockZ <= 0) {
            throw new IllegalArgumentException("launch dimensions must be positive: grid " + gridX + "x" + gridY + "x"
                    + gridZ + ", block " + blockX + "x" + blockY + "x" + blockZ);
        }
        if (sharedBytes < 0) throw new IllegalArgumentException("negative shared memory " + sharedBytes);
    }

    /** A 1-D grid of 1-D blocks without dynamic shared memory. */
    public static LaunchGeometry linear(int grid, int block) { return new LaunchGeometry(grid, 1, 1, block, 1, 1, 0); }
}
