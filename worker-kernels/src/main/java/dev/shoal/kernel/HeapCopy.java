package dev.shoal.kernel;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bulk copies between the memory of an ND4J array (float or double; the elements in memory order from the
 * array's offset) and a {@code double[]} on the heap, where a helper's own loops work. One bulk copy plus a
 * conversion loop the JIT vectorises: element-by-element access to native memory is many times slower. Keeps a
 * float scratch array for the conversion; not thread-safe. Float helpers' loops take a float array's values as
 * they are ({@link #values}).
 */
final class HeapCopy {
    private float[] floats = new float[0];

    /** {@code length} elements of {@code from}'s memory, from its element {@code start}, into {@code to[at...]}. */
    void read(INDArray from, long start, double[] to, int at, int length) {
        if (from.dataType() == DataType.DOUBLE) {
            DoubleBuffer buffer = from.data().asNioDouble();
            buffer.get(index(from, start, length, buffer.limit()), to, at, length);
            return;
        }
        float[] scratch = scratch(length);
        FloatBuffer buffer = floatsOf(from);
        buffer.get(index(from, start, length, buffer.limit()), scratch, 0, length);
        for (int i = 0; i < length; i++) {
            to[at + i] = scratch[i];
        }
    }

    /** {@code from[at...]}, {@code length} elements, into {@code to}'s memory from its element {@code start}. */
    void write(double[] from, int at, int length, INDArray to, long start) {
        if (to.dataType() == DataType.DOUBLE) {
            DoubleBuffer buffer = to.data().asNioDouble();
            buffer.put(index(to, start, length, buffer.limit()), from, at, length);
            return;
        }
        float[] scratch = scratch(length);
        for (int i = 0; i < length; i++) {
            scratch[i] = (float) from[at + i];
        }
        FloatBuffer buffer = floatsOf(to);
        buffer.put(index(to, start, length, buffer.limit()), scratch, 0, length);
    }

    /**
     * Row {@code i} of {@code from} ({@code count} rows of {@code to.columns()} values, one after the other) into
     * row {@code rows[i]} of the 2-d array {@code to}, whatever its memory order: a few scattered rows of a large
     * array, where copying all of it would cost more.
     */
    static void writeRows(double[] from, int[] rows, int count, INDArray to) {
        int width = (int) to.columns();
        long rowStride = to.stride(0);
        long columnStride = to.stride(1);
        if (to.dataType() == DataType.DOUBLE) {
            DoubleBuffer buffer = to.data().asNioDouble();
            for (int i = 0; i < count; i++) {
                int at = index(to, rows[i] * rowStride, 1 + (int) ((width - 1) * columnStride), buffer.limit());
                for (int k = 0; k < width; k++) {
                    buffer.put(at + (int) (k * columnStride), from[i * width + k]);
                }
            }
            return;
        }
        FloatBuffer buffer = floatsOf(to);
        for (int i = 0; i < count; i++) {
            int at = index(to, rows[i] * rowStride, 1 + (int) ((width - 1) * columnStride), buffer.limit());
            for (int k = 0; k < width; k++) {
                buffer.put(at + (int) (k * columnStride), (float) from[i * width + k]);
            }
        }
    }

    /**
     * {@code a} if its elements lie in memory in {@code order} ('c' or 'f') without gaps, else such a copy: what
     * the bulk copies here need to see an array's elements in a known order.
     */
    static INDArray dense(INDArray a, char order) {
        return a.ordering() == order && Arrays.equals(a.stride(), Nd4j.getStrides(a.shape(), order)) ? a
                : a.dup(order);
    }

    private static FloatBuffer floatsOf(INDArray a) {
        if (a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("expected a float or double array, got " + a.dataType());
        }
        return a.data().asNioFloat();
    }

    /**
     * The index of element {@code start} of {@code a}'s memory in its buffer's NIO view (which covers the whole
     * buffer a view was cut from, {@code limit} elements; a view starts at its offset), checked to leave room for
     * the copy.
     */
    private static int index(INDArray a, long start, int length, int limit) {
        long index = a.offset() + start;
        if (start < 0 || index + length > limit) {
            throw new IndexOutOfBoundsException("elements " + start + " to " + (start + length) + " of an array at "
                    + "offset " + a.offset() + " in a buffer of " + limit);
        }
        return Math.toIntExact(index);
    }

    private float[] scratch(int length) {
        if (floats.length < length) {
            floats = new float[length];
        }
        return floats;
    }

    /**
     * A float array's values in c order, in {@code array} (returned) if it holds them, else in a new one: a
     * float helper's heap copy of its input, grown once, then reused.
     */
    static float[] values(INDArray a, float[] array) {
        float[] values = reuse(array, a.length());
        WorkerKernel.floats(dense(a, 'c')).get(values, 0, (int) a.length());
        return values;
    }

    /** {@code array} if it holds at least {@code length} elements, else a new one: grown once, then reused. */
    static float[] reuse(float[] array, long length) {
        return array != null && array.length >= length ? array : new float[Math.toIntExact(length)];
    }

    /** {@code array} if it holds at least {@code length} elements, else a new one: grown once, then reused. */
    static double[] reuse(double[] array, long length) {
        return array != null && array.length >= length ? array : new double[Math.toIntExact(length)];
    }

    /** {@code arrays} if it has at least {@code rows} arrays of at least {@code length}, else such new ones. */
    static double[][] reuse(double[][] arrays, int rows, int length) {
        return arrays != null && arrays.length >= rows && arrays[0].length >= length ? arrays
                : new double[rows][length];
    }
}
