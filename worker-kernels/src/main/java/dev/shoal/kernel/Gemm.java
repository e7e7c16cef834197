package dev.shoal.kernel;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_dgemm;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code c = op(a) op(b)}: one call of OpenBLAS's gemm on the arrays' memory, the routine {@code Nd4j.gemm}
 * reaches in the end, without ND4J's ~20 µs of Java around it (an op object, its context, shape and workspace
 * checks). ND4J may hand some storage orders to OpenBLAS the other way round, so the two agree up to rounding.
 * Measured on a Zen 4 EPYC, one thread, the MLP's shapes with 64 rows: 128x10 products 3-4 µs against 24-28
 * through ND4J, 256x128 49 against 57, 784x256 272 against 262-275. A step of the Fashion-MNIST MLP makes six
 * products of the small kind (its last layer's three, every bias gradient), an LSTM two a time step. Arrays
 * stored neither row by row nor column by column without gaps, or of another type than float and double, go
 * through {@code Nd4j.gemm}.
 */
final class Gemm {
    private Gemm() {
    }

    /**
     * {@code c = op(a) op(b)}, where {@code op(x)} is {@code x} transposed if asked. All three must be matrices of
     * one type; {@code c} must not share memory with {@code a} or {@code b}.
     */
    static void product(INDArray a, boolean transposeA, INDArray b, boolean transposeB, INDArray c) {
        product(a, transposeA, b, transposeB, 0, c);
    }

    /** {@code c += op(a) op(b)}, as {@link #product}. */
    static void addProduct(INDArray a, boolean transposeA, INDArray b, boolean transposeB, INDArray c) {
        product(a, transposeA, b, transposeB, 1, c);
    }

    /** {@code c = op(a) op(b) + beta c}. */
    private static void product(INDArray a, boolean transposeA, INDArray b, boolean transposeB, int beta,
                                INDArray c) {
        Layout la = Layout.of(a);
        Layout lb = Layout.of(b);
        Layout lc = Layout.of(c);
        DataType type = c.dataType();
        if (la == null || lb == null || lc == null || a.dataType() != type || b.dataType() != type
                || (type != DataType.FLOAT && type != DataType.DOUBLE)) {
            Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, beta);
            return;
        }
        int m = (int) c.size(0);
        int n = (int) c.size(1);
        int k = (int) (transposeA ? a.size(0) : a.size(1));
        boolean ta = transposeA != la.transposed();
        boolean tb = transposeB != lb.transposed();
        if (lc.transposed()) {
            // c stored column by column is c's transpose row by row: op(b)' op(a)'.
            gemm(type, !tb, !ta, n, m, k, b, lb.ld(), a, la.ld(), beta, c, lc.ld());
        } else {
            gemm(type, ta, tb, m, n, k, a, la.ld(), b, lb.ld(), beta, c, lc.ld());
        }
    }

    /** Row-major {@code c (m x n) = op(a) op(b) + beta c} with the stored matrices' leading dimensions. */
    private static void gemm(DataType type, boolean ta, boolean tb, int m, int n, int k, INDArray a, int lda,
                             INDArray b, int ldb, int beta, INDArray c, int ldc) {
        int opA = ta ? CblasTrans : CblasNoTrans;
        int opB = tb ? CblasTrans : CblasNoTrans;
        if (type == DataType.FLOAT) {
            cblas_sgemm(CblasRowMajor, opA, opB, m, n, k, 1f, floats(a), lda, floats(b), ldb, beta, floats(c), ldc);
        } else {
            cblas_dgemm(CblasRowMajor, opA, opB, m, n, k, 1, doubles(a), lda, doubles(b), ldb, beta, doubles(c),
                    ldc);
        }
    }

    /** The address of {@code x}'s first element: a view's buffer starts at the view's offset. */
    private static FloatPointer floats(INDArray x) {
        return new FloatPointer(x.data().addressPointer());
    }

    private static DoublePointer doubles(INDArray x) {
        return new DoublePointer(x.data().addressPointer());
    }

    /**
     * A matrix's memory as a row-major matrix: the matrix itself, or (stored column by column) its transpose,
     * with its leading dimension (the step between stored rows).
     */
    private record Layout(boolean transposed, int ld) {

        /** Null when the matrix is stored neither way (a view with gaps between elements). */
        static Layout of(INDArray x) {
            if (x.rank() != 2) {
                return null;
            }
            long rows = x.size(0);
            long cols = x.size(1);
            long rowStep = x.stride(0);
            long colStep = x.stride(1);
            if ((colStep == 1 || cols == 1) && (rows == 1 || rowStep >= cols)) {
                return new Layout(false, (int) Math.max(1, rows == 1 ? cols : rowStep));
            }
            if ((rowStep == 1 || rows == 1) && (cols == 1 || colStep >= rows)) {
                return new Layout(true, (int) Math.max(1, cols == 1 ? rows : colStep));
            }
            return null;
        }
    }
}
