package dev.shoal.kernel.sharing;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One worker's gradient for one step, as it travels to its peers: either threshold-encoded (a list of entries,
 * each a signed whole multiple of the threshold) or dense (every value). DL4J's gradients are sums over the
 * minibatch (its updater divides by the minibatch size), so peers add the messages up and divide by the total of
 * {@code examples}: exactly one combined minibatch, whatever each worker's batch held.
 *
 * <p>A sparse entry is {@code index + 1} with the sign of the value sent, and a multiple: the value sent is
 * sign x multiple x threshold, so large entries travel (almost) whole rather than one threshold at a time.
 *
 * @param examples  examples behind this gradient (its minibatch size); 0 for a worker without a batch
 * @param threshold the threshold of a sparse message; 0 for a dense one
 * @param entries   signed, 1-based indices of a sparse message; empty for a dense one
 * @param multiples for each entry, how many thresholds it carries, 1 to {@link #MAX_MULTIPLE}
 * @param dense     every value of a dense message; null for a sparse one
 */
public record GradientMessage(int examples, float threshold, int[] entries, byte[] multiples, float[] dense) {
    /** The most thresholds one entry carries; the rest of a larger value waits in the residual. */
    public static final int MAX_MULTIPLE = 127;

    /** Rice quotients from this one on are sent as the whole gap. */
    private static final int ESCAPE = 32;
    private static final int MAX_RICE = 30;
    private static final byte SPARSE = 1;
    private static final byte DENSE = 2;

    public static GradientMessage dense(int examples, float[] values) {
        return new GradientMessage(examples, 0, new int[0], new byte[0], values);
    }

    public static GradientMessage sparse(int examples, float threshold, int[] entries, byte[] multiples) {
        if (entries.length != multiples.length) {
            throw new IllegalArgumentException(entries.length + " entries but " + multiples.length + " multiples");
        }
        return new GradientMessage(examples, threshold, entries, multiples, null);
    }

    public boolean isDense() {
        return dense != null;
    }

    /** Adds every value this message carries into {@code sum}. */
    public void addTo(float[] sum) {
        if (isDense()) {
            for (int i = 0; i < sum.length; i++) {
                sum[i] += dense[i];
            }
            return;
        }
        for (int j = 0; j < entries.length; j++) {
            int e = entries[j];
            float value = multiples[j] * threshold;
            if (e > 0) {
                sum[e - 1] += value;
            } else {
                sum[-e - 1] -= value;
            }
        }
    }

    /**
     * The message as sent: kind, examples, threshold, count, then for a dense message the floats, for a sparse
     * one a Rice parameter r, the length of its body and the body: per entry, in increasing index order, the gap
     * to the previous index less one, Rice-coded (its quotient by 2^r in unary, then its r low bits; a quotient
     * of {@value #ESCAPE} or more as {@value #ESCAPE} ones and the gap in 31 bits), a sign bit and the multiple,
     * Elias-gamma-coded (one bit for 1, three for 2 and 3, ...). r is picked per message for the fewest bits:
     * about 8 bits per entry when 3% of the entries are sent, where a byte-aligned varint and a byte took 16.
     */
    public byte[] toBytes() {
        int n = isDense() ? dense.length : entries.length;
        ByteBuffer header = ByteBuffer.allocate(13).put(isDense() ? DENSE : SPARSE).putInt(examples)
                .putFloat(threshold).putInt(n);
        if (isDense()) {
            ByteBuffer out = ByteBuffer.allocate(13 + 4 * n).put(header.array());
            out.asFloatBuffer().put(dense);
            return out.array();
        }
        int[] gaps = new int[n];
        int previous = -1;
        for (int j = 0; j < n; j++) {
            int index = Math.abs(entries[j]) - 1;
            if (index <= previous) {
                throw new IllegalStateException("sparse entries out of order at " + j);
            }
            gaps[j] = index - previous - 1;
            previous = index;
        }
        int r = riceParameter(gaps);
        Bits.Writer body = new Bits.Writer(2 * n);
        long lowBits = (1L << r) - 1;
        for (int j = 0; j < n; j++) {
            int quotient = gaps[j] >>> r;
            if (quotient < ESCAPE) {
                // quotient ones, a zero, the r low bits: at most 32 + 1 + 30 bits, in one write when they fit
                long unary = (1L << (quotient + 1)) - 2;
                if (quotient + 1 + r <= 56) {
                    body.write(unary << r | gaps[j] & lowBits, quotient + 1 + r);
                } else {
                    body.write(unary, quotient + 1);
                    body.write(gaps[j], r);
                }
            } else {
                body.writeOnes(ESCAPE);
                body.write(gaps[j], 31);
            }
            if (multiples[j] < 1) {
                throw new IllegalStateException("sparse entry " + j + " has multiple " + multiples[j]);
            }
            // The sign bit, then the multiple Elias-gamma-coded: bits - 1 zeros and its bits, so 2 x bits in all.
            int bits = 32 - Integer.numberOfLeadingZeros(multiples[j]);
            body.write((entries[j] < 0 ? 1L : 0L) << (2 * bits - 1) | multiples[j], 2 * bits);
        }
        byte[] bytes = body.toByteArray();
        return ByteBuffer.allocate(13 + 1 + 4 + bytes.length).put(header.array()).put((byte) r)
                .putInt(bytes.length).put(bytes).array();
    }

    /**
     * The Rice parameter that codes these gaps in the fewest bits, of those around log2 of their mean (where the
     * best one for geometrically distributed gaps lies).
     */
    private static int riceParameter(int[] gaps) {
        long sum = 0;
        for (int gap : gaps) {
            sum += gap;
        }
        int center = 63 - Long.numberOfLeadingZeros(Math.max(1, sum / Math.max(1, gaps.length)));
        int best = 0;
        long fewest = Long.MAX_VALUE;
        for (int r = Math.max(0, center - 2); r <= Math.min(MAX_RICE, center + 2); r++) {
            long bits = 0;
            for (int gap : gaps) {
                int quotient = gap >>> r;
                bits += quotient < ESCAPE ? quotient + 1 + r : ESCAPE + 31;
            }
            if (bits < fewest) {
                fewest = bits;
                best = r;
            }
        }
        return best;
    }

    public static GradientMessage read(DataInputStream in) throws IOException {
        byte kind = in.readByte();
        int examples = in.readInt();
        float threshold = in.readFloat();
        int n = in.readInt();
        if ((kind != SPARSE && kind != DENSE) || n < 0 || n > Integer.MAX_VALUE / 16 || examples < 0) {
            throw new IOException("corrupt gradient message: kind " + kind + ", examples " + examples
                    + ", length " + n);
        }
        if (kind == DENSE) {
            byte[] bytes = new byte[4 * n];
            in.readFully(bytes);
            float[] values = new float[n];
            ByteBuffer.wrap(bytes).asFloatBuffer().get(values);
            return dense(examples, values);
        }
        int r = in.readByte();
        int length = in.readInt();
        // Each entry takes 3 to 77 bits.
        if (r < 0 || r > MAX_RICE || length < (3L * n + 7) / 8 || length > 10L * n) {
            throw new IOException("corrupt gradient message: " + n + " entries in " + length
                    + " bytes, Rice parameter " + r);
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        Bits.Reader body = new Bits.Reader(bytes, "gradient message");
        int[] entries = new int[n];
        byte[] multiples = new byte[n];
        long index = -1;
        for (int j = 0; j < n; j++) {
            int quotient = body.readOnes(ESCAPE);
            long gap = quotient < ESCAPE ? ((long) quotient << r) | body.read(r) : body.read(31);
            index += gap + 1;
            if (index >= Integer.MAX_VALUE) {
                throw new IOException("corrupt gradient message: entry " + j + " has index " + index);
            }
            boolean negative = body.readBit() == 1;
            int zeros = body.peekZeros(7);
            if (zeros > 6) {
                throw new IOException("corrupt gradient message: entry " + j + " has a multiple over "
                        + MAX_MULTIPLE);
            }
            int multiple = body.read(zeros + 1 + zeros); // the zeros, then the multiple's leading one and the rest
            if (multiple > MAX_MULTIPLE) {
                throw new IOException("corrupt gradient message: entry " + j + " has multiple " + multiple);
            }
            entries[j] = negative ? -(int) (index + 1) : (int) (index + 1);
            multiples[j] = (byte) multiple;
        }
        return sparse(examples, threshold, entries, multiples);
    }
}
