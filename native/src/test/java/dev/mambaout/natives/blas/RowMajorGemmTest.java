package dev.mambaout.natives.blas;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The row-major to column-major mapping, checked without a GPU: a loop with cuBLAS's column-major semantics, fed
 * the row-major buffers with the arguments {@link RowMajorGemm#columnMajor()} gives (operands swapped), must write
 * exactly the row-major product.
 */
class RowMajorGemmTest {

    @ParameterizedTest(name = "M={0} N={1} K={2} transA={3} transB={4}")
    @CsvSource({"5,7,3,false,false", "5,7,3,false,true", "5,7,3,true,false", "5,7,3,true,true",
            "1,9,4,false,true", "11,1,6,true,false", "13,17,1,true,true"})
    void columnMajorCallComputesTheRowMajorProduct(int m, int n, int k, boolean ta, boolean tb) {
        Random rnd = new Random(m * 131L + n * 17L + k + (ta ? 7 : 0) + (tb ? 3 : 0));
        RowMajorGemm g = new RowMajorGemm(m, n, k, ta, tb);
        float[] a = GpuTestSupport.random(rnd, m * k);
        float[] b = GpuTestSupport.random(rnd, k * n);
        double[] rowMajor = Reference.gemm(g, a, b);
        ColumnMajorGemm c = g.columnMajor();
        double[] viaCublas = Reference.columnMajorGemm(c, b, a);   // cuBLAS's A is our B, its B our A
        assertEquals(rowMajor.length, viaCublas.length);
        for (int i = 0; i < rowMajor.length; i++) {
            assertEquals(rowMajor[i], viaCublas[i], 1e-12, "element " + i + " of " + g + " via " + c);
        }
    }

    @Test
    void linearLayerIsWTimesXTransposedForCublas() {
        // y[T,out] = x[T,in] W[out,in]^T  ->  cuBLAS: C^T[out,T] = W (op T, ld in) * x^T (op N, ld in), ldc out.
        ColumnMajorGemm c = RowMajorGemm.linear(10, 24, 36).columnMajor();
        assertEquals(new ColumnMajorGemm(true, false, 36, 10, 24, 24, 24, 36), c);
        assertEquals(1, ColumnMajorGemm.op(c.transA()));
        assertEquals(0, ColumnMajorGemm.op(c.transB()));
    }

    @Test
    void leadingDimensionsAreStoredRowLengths() {
        RowMajorGemm g = new RowMajorGemm(3, 5, 7, true, true);
        assertEquals(3, g.lda());   // A stored [K,M]
        assertEquals(7, g.ldb());   // B stored [N,K]
        assertEquals(5, g.ldd());
        ColumnMajorGemm c = g.columnMajor();
        assertEquals(7, c.aRows());
        assertEquals(5, c.aCols());
        assertEquals(3, c.bRows());
        assertEquals(7, c.bCols());
    }

    @Test
    void badSizesAreRefusedWithTheNumbers() {
        var e = assertThrows(IllegalArgumentException.class, () -> new RowMajorGemm(4, 0, 3, false, false));
        assertTrue(e.getMessage().contains("N=0"), e.getMessage());
        var l = assertThrows(IllegalArgumentException.class,
                () -> new ColumnMajorGemm(false, false, 8, 4, 2, 7, 2, 8));
        assertTrue(l.getMessage().contains("lda=7"), l.getMessage());
    }
}
