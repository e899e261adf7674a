package dev.mambaout.natives.blas;

/**
 * What identifies a cuBLASLt algorithm, read back from its {@code cublasLtMatmulAlgo_t} with
 * {@code cublasLtMatmulAlgoConfigGetAttribute} (cublasLt.h's {@code CUBLASLT_ALGO_CONFIG_*}): enough to tell two
 * candidates apart in a printed table and to see whether an autotuned plan left the heuristic's first choice. The
 * numbers are cublasLt.h's enum values ({@code cublasLtMatmulTile_t}, {@code cublasLtMatmulStages_t},
 * {@code cublasLtReductionScheme_t}, {@code cublasLtClusterShape_t}, ...).
 */
public record LtAlgo(int id, int tile, int stages, int splitK, int reductionScheme, int ctaSwizzling,
                     int customOption, int innerShape, int clusterShape) {

    @Override
    public String toString() {
        return "id=" + id + " tile=" + tile + " stages=" + stages + " splitK=" + splitK + " reduction="
                + reductionScheme + " swizzle=" + ctaSwizzling + " custom=" + customOption + " inner=" + innerShape
                + " cluster=" + clusterShape;
    }
}
