package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.shoal.kernel.testing.Rounding;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Gemm against Nd4j.gemm, which reaches the same OpenBLAS routine, possibly with the operands the other way round:
 * equal up to rounding for every storage order of the three matrices, both transpositions, vectors, views with a
 * row step wider than the row, a block of a larger matrix, and doubles; views with gaps go through Nd4j.gemm.
 */
class GemmTest {

    @Test
    void everyStorageOrderAndTranspositionGivesNd4jsBits() {
        Nd4j.getRandom().setSeed(3);
        int checked = 0;
        for (int[] mnk : new int[][] {{7, 5, 9}, {64, 10, 128}, {1, 10, 64}, {6, 1, 4}, {33, 17, 1}}) {
            int m = mnk[0];
            int n = mnk[1];
            int k = mnk[2];
            for (int flags = 0; flags < 32; flags++) {
                boolean ta = (flags & 1) != 0;
                boolean tb = (flags & 2) != 0;
                INDArray a = matrix(ta ? k : m, ta ? m : k, order(flags, 4), DataType.FLOAT);
                INDArray b = matrix(tb ? n : k, tb ? k : n, order(flags, 8), DataType.FLOAT);
                char cOrder = order(flags, 16);
                checked += same(a, ta, b, tb, Nd4j.create(DataType.FLOAT, new long[] {m, n}, cOrder),
                        Nd4j.create(DataType.FLOAT, new long[] {m, n}, cOrder));
            }
        }
        assertEquals(5 * 32, checked);
    }

    @Test
    void doublesViewsAndGappedViews() {
        Nd4j.getRandom().setSeed(4);
        INDArray a = matrix(6, 4, 'c', DataType.DOUBLE);
        INDArray b = matrix(4, 3, 'f', DataType.DOUBLE);
        same(a, false, b, false, Nd4j.create(DataType.DOUBLE, 6, 3), Nd4j.create(DataType.DOUBLE, 6, 3));

        // The first 5 of 9 columns: rows 9 apart, wider than the 5 read.
        INDArray wide = matrix(8, 9, 'c', DataType.FLOAT).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 5));
        INDArray right = matrix(5, 3, 'c', DataType.FLOAT);
        same(wide, false, right, false, Nd4j.create(DataType.FLOAT, 8, 3), Nd4j.create(DataType.FLOAT, 8, 3));
        // Every other column: no layout BLAS takes, Nd4j.gemm's own way.
        INDArray gapped = matrix(8, 10, 'c', DataType.FLOAT).get(NDArrayIndex.all(),
                NDArrayIndex.interval(0, 2, 10));
        same(gapped, false, right, false, Nd4j.create(DataType.FLOAT, 8, 3), Nd4j.create(DataType.FLOAT, 8, 3));
        // Into a block of a larger matrix, as a layer's gradient view.
        INDArray big = Nd4j.create(DataType.FLOAT, 8, 7);
        INDArray block = big.get(NDArrayIndex.all(), NDArrayIndex.interval(2, 5));
        Gemm.product(wide, false, right, false, block);
        INDArray expected = Nd4j.create(DataType.FLOAT, 8, 3);
        Nd4j.gemm(wide, right, expected, false, false, 1.0, 0.0);
        Rounding.assertClose("block", expected.ravel().toFloatVector(), block.dup('c').ravel().toFloatVector());
        assertEquals(0, big.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2)).sumNumber().doubleValue(),
                "nothing written outside the block");
    }

    private static char order(int flags, int bit) {
        return (flags & bit) != 0 ? 'f' : 'c';
    }

    private static INDArray matrix(int rows, int cols, char order, DataType type) {
        return Nd4j.randn(type, rows, cols).dup(order);
    }

    /** Gemm into {@code c} and Nd4j.gemm into {@code expected}: the same bits. Returns 1. */
    private static int same(INDArray a, boolean ta, INDArray b, boolean tb, INDArray c, INDArray expected) {
        Nd4j.gemm(a, b, expected, ta, tb, 1.0, 0.0);
        Gemm.product(a, ta, b, tb, c);
        String what = "a " + a.ordering() + (ta ? "'" : "") + " b " + b.ordering() + (tb ? "'" : "") + " c "
                + c.ordering() + " " + List.of(c.shape()[0], c.shape()[1]);
        Rounding.assertClose(what, expected.dup('c').ravel().toFloatVector(), c.dup('c').ravel().toFloatVector());
        return 1;
    }
}
