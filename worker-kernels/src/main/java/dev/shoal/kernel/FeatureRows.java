package dev.shoal.kernel;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * The feature values of a block's rows, {@code width} floats a row, kept in executor memory for a whole run.
 * Values that take at most 256 distinct bit patterns (pixels read from bytes, character and small-vocabulary
 * token ids, one-hot columns) are stored as one byte a value, an index into a table of those patterns: a quarter
 * of the memory, and every value read back bit for bit as it was given. Other data stays as floats.
 */
public final class FeatureRows implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The most distinct values a block's features may take to be stored one byte a value. */
    public static final int MAX_CODES = 256;
    /** Values looked at before a block's codes are allocated. */
    private static final int SAMPLE = 1 << 16;

    private final int width;
    private final int rows;
    /**
     * The values themselves, or with {@link #codes} the table of distinct values (at most 256). Serialized in bulk
     * ({@link #writeObject}): Java serialization writes an array of floats a float at a time.
     */
    private transient float[] values;
    /** One index into {@link #values} per feature value; empty when the values are stored as they are. */
    private final byte[] codes;

    private FeatureRows(int width, int rows, float[] values, byte[] codes) {
        this.width = width;
        this.rows = rows;
        this.values = values;
        this.codes = codes;
    }

    /** The rows of {@code features} (row-major, {@code width} a row), stored compactly when the values allow. */
    public static FeatureRows of(float[] features, int width) {
        if (width < 1 || features.length % width != 0) {
            throw new IllegalArgumentException(features.length + " feature values do not make rows of " + width);
        }
        int rows = features.length / width;
        Codebook book = new Codebook();
        // Float data (most tables) has more than 256 distinct values within a few rows: a first look at a sample
        // finds that out before a code per value is allocated.
        int sample = Math.min(features.length, SAMPLE);
        byte[] first = new byte[sample];
        if (!book.code(features, 0, sample, first)) {
            return new FeatureRows(width, rows, features, new byte[0]);
        }
        byte[] codes = new byte[features.length];
        System.arraycopy(first, 0, codes, 0, sample);
        if (!book.code(features, sample, features.length, codes)) {
            return new FeatureRows(width, rows, features, new byte[0]);
        }
        return new FeatureRows(width, rows, book.values(), codes);
    }

    /**
     * One block's rows put together from parts coded each on its own (a part read on one executor, the block
     * assembled on another): row {@code i} of {@code parts.get(k)} becomes row {@code rowsAt.get(k)[i]}, and every
     * one of the {@code rows} rows must be given once. When every part is coded and their values number at most
     * 256 together, the block is coded too, its codes renumbered from the parts' through a table of 256 (each
     * part's table looked up, not each value); otherwise it is built from the values, as {@link #of} builds it.
     * Either way, the same choice {@link #of} makes for the block's values, which are read back bit for bit.
     */
    public static FeatureRows gather(int width, int rows, List<FeatureRows> parts, List<int[]> rowsAt) {
        if (parts.size() != rowsAt.size()) {
            throw new IllegalArgumentException(parts.size() + " parts but " + rowsAt.size() + " lists of rows");
        }
        long given = 0;
        for (int k = 0; k < parts.size(); k++) {
            if (parts.get(k).width != width || parts.get(k).rows != rowsAt.get(k).length) {
                throw new IllegalArgumentException("part " + k + " has " + parts.get(k).rows + " rows of "
                        + parts.get(k).width + " values for " + rowsAt.get(k).length + " rows of " + width);
            }
            given += parts.get(k).rows;
        }
        if (given != rows) {
            throw new IllegalArgumentException("the parts give " + given + " rows for " + rows);
        }
        Codebook book = new Codebook();
        byte[][] renumber = renumbering(parts, book);
        if (renumber == null) {
            float[] all = new float[rows * width];
            for (int k = 0; k < parts.size(); k++) {
                int[] at = rowsAt.get(k);
                for (int i = 0; i < at.length; i++) {
                    parts.get(k).copyRow(i, all, at[i] * width);
                }
            }
            return of(all, width);
        }
        byte[] codes = new byte[rows * width];
        for (int k = 0; k < parts.size(); k++) {
            byte[] partCodes = parts.get(k).codes;
            byte[] code = renumber[k];
            int[] at = rowsAt.get(k);
            for (int i = 0; i < at.length; i++) {
                int from = i * width;
                int to = at[i] * width;
                for (int j = 0; j < width; j++) {
                    codes[to + j] = code[partCodes[from + j] & 0xff];
                }
            }
        }
        return new FeatureRows(width, rows, book.values(), codes);
    }

    /**
     * For each part, its codes' codes in {@code book}; null when a part (with rows) is not coded or the parts'
     * values are more than 256 together.
     */
    private static byte[][] renumbering(List<FeatureRows> parts, Codebook book) {
        byte[][] renumber = new byte[parts.size()][];
        for (int k = 0; k < parts.size(); k++) {
            FeatureRows part = parts.get(k);
            if (part.rows == 0) {
                renumber[k] = new byte[0];
                continue;
            }
            if (!part.coded()) {
                return null;
            }
            renumber[k] = new byte[part.values.length];
            for (int c = 0; c < part.values.length; c++) {
                int code = book.codeOf(part.values[c]);
                if (code < 0) {
                    return null;
                }
                renumber[k][c] = (byte) code;
            }
        }
        return renumber;
    }

    /**
     * Up to 256 distinct float bit patterns (so -0.0 and 0.0, and each NaN, stay apart), numbered in the order
     * first seen: an open-addressing hash set of int bits, no boxing. Sixteen slots a value and the product's
     * high bits folded into the slot, so that a value is nearly always in the first slot it looks at: on
     * Fashion-MNIST's pixels, 0.4% of the lookups look further (20% with the product's top 10 bits as the slot,
     * a quarter as many slots, which took 10 ns a value with a shortcut for runs of one value; now 3.3).
     */
    private static final class Codebook {
        private final int[] keys = new int[16 * MAX_CODES];
        private final short[] codes = new short[keys.length]; // code + 1; 0 marks a free slot
        private final float[] values = new float[MAX_CODES];
        private int count;

        /** The code of {@code v}, numbering it if new; -1 when it is new and 256 values are numbered already. */
        int codeOf(float v) {
            int bits = Float.floatToRawIntBits(v);
            int h = bits * 0x9E3779B9;
            int slot = (h ^ (h >>> 15)) & (keys.length - 1);
            int code;
            while ((code = codes[slot]) != 0 && keys[slot] != bits) {
                slot = (slot + 1) & (keys.length - 1);
            }
            if (code == 0) {
                if (count == MAX_CODES) {
                    return -1;
                }
                keys[slot] = bits;
                values[count] = v;
                code = ++count;
                codes[slot] = (short) code;
            }
            return code - 1;
        }

        /** Codes {@code v[from..to)} into {@code out} at the same indices; false when a value would be the 257th. */
        boolean code(float[] v, int from, int to, byte[] out) {
            for (int i = from; i < to; i++) {
                int code = codeOf(v[i]);
                if (code < 0) {
                    return false;
                }
                out[i] = (byte) code;
            }
            return true;
        }

        float[] values() {
            return Arrays.copyOf(values, count);
        }
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.writeInt(values.length);
        byte[] bytes = new byte[values.length * Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values);
        out.write(bytes);
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        byte[] bytes = new byte[in.readInt() * Float.BYTES];
        in.readFully(bytes);
        values = new float[bytes.length / Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
    }

    public int width() {
        return width;
    }

    public int rows() {
        return rows;
    }

    /** Whether the values are stored as one-byte codes. */
    public boolean coded() {
        return codes.length > 0;
    }

    /** Bytes of the stored values, for memory accounting. */
    public long bytes() {
        return codes.length + 4L * values.length;
    }

    /** Copies row {@code row}'s values into {@code target} from {@code offset}. */
    public void copyRow(int row, float[] target, int offset) {
        int from = row * width;
        if (codes.length == 0) {
            System.arraycopy(values, from, target, offset, width);
            return;
        }
        for (int j = 0; j < width; j++) {
            target[offset + j] = values[codes[from + j] & 0xff];
        }
    }

    /** The value at column {@code column} of row {@code row}. */
    public float get(int row, int column) {
        int at = row * width + column;
        return codes.length == 0 ? values[at] : values[codes[at] & 0xff];
    }

    /** All values, row-major, in a new array. */
    public float[] toArray() {
        float[] all = new float[rows * width];
        for (int r = 0; r < rows; r++) {
            copyRow(r, all, r * width);
        }
        return all;
    }
}
