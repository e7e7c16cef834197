package dev.shoal.kernel;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Bulk copies between the memory of an ND4J array (float or double; the elements in memory order from the
 * array's offset) and a {@code double[]} on the heap, where a helper's own loops work. One bulk copy plus a
 * conversion loop the JIT vectorises: element-by-element access to native memory is many times slower. Keeps a
 * float scratch array for the conversion; not thread-safe.
 */
final class HeapCopy {
    private float[] floats = new float[0];

    /** {@code length} elements of {@code from}'s memory, from its element {@code start}, into {@code to[at...]}. */
    void read(INDArray from, long start, double[] to, int at, int length) {
        int index = index(from, start, length);
        if (from.dataType() == DataType.DOUBLE) {
            from.data().asNioDouble().get(index, to, at, length);
            return;
        }
        float[] scratch = scratch(length);
        floatsOf(from).get(index, scratch, 0, length);
        for (int i = 0; i < length; i++) {
            to[at + i] = scratch[i];
        }
    }

    /** {@code from[at...]}, {@code length} elements, into {@code to}'s memory from its element {@code start}. */
    void write(double[] from, int at, int length, INDArray to, long start) {
        int index = index(to, start, length);
        if (to.dataType() == DataType.DOUBLE) {
            DoubleBuffer buffer = to.data().asNioDouble();
            buffer.put(index, from, at, length);
            return;
        }
        float[] scratch = scratch(length);
        for (int i = 0; i < length; i++) {
            scratch[i] = (float) from[at + i];
        }
        floatsOf(to).put(index, scratch, 0, length);
    }

    private static FloatBuffer floatsOf(INDArray a) {
        if (a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("expected a float or double array, got " + a.dataType());
        }
        return a.data().asNioFloat();
    }

    /** The buffer index of element {@code start} of {@code a}'s memory, checked to leave room for the copy. */
    private static int index(INDArray a, long start, int length) {
        long index = a.offset() + start;
        if (start < 0 || index + length > a.data().length()) {
            throw new IndexOutOfBoundsException("elements " + start + " to " + (start + length) + " of an array of "
                    + a.data().length() + " from offset " + a.offset());
        }
        return Math.toIntExact(index);
    }

    private float[] scratch(int length) {
        if (floats.length < length) {
            floats = new float[length];
        }
        return floats;
    }

    /** {@code array} if it holds at least {@code length} elements, else a new one: grown once, then reused. */
    static double[] reuse(double[] array, long length) {
        return array != null && array.length >= length ? array : new double[Math.toIntExact(length)];
    }
}
