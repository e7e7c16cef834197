package dev.shoal.kernel.sharing;

import java.io.ByteArrayOutputStream;
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
     * one the length of its body and per entry the gap to the previous index (a varint: one byte for gaps under
     * 128) and one byte holding the sign and the multiple. Sparse entries must be in increasing index order.
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
        ByteArrayOutputStream body = new ByteArrayOutputStream(2 * n + 16);
        int previous = -1;
        for (int j = 0; j < n; j++) {
            int index = Math.abs(entries[j]) - 1;
            int gap = index - previous;
            if (gap <= 0) {
                throw new IllegalStateException("sparse entries out of order at " + j);
            }
            previous = index;
            while (gap >= 0x80) {
                body.write((gap & 0x7f) | 0x80);
                gap >>>= 7;
            }
            body.write(gap);
            body.write((entries[j] < 0 ? 0x80 : 0) | multiples[j]);
        }
        return ByteBuffer.allocate(13 + 4 + body.size()).put(header.array()).putInt(body.size())
                .put(body.toByteArray()).array();
    }

    public static GradientMessage read(DataInputStream in) throws IOException {
        byte kind = in.readByte();
        int examples = in.readInt();
        float threshold = in.readFloat();
        int n = in.readInt();
        if ((kind != SPARSE && kind != DENSE) || n < 0 || n > Integer.MAX_VALUE / 5 || examples < 0) {
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
        int length = in.readInt();
        if (length < 2 * n || length > 6 * n) {
            throw new IOException("corrupt gradient message: " + n + " entries in " + length + " bytes");
        }
        byte[] body = new byte[length];
        in.readFully(body);
        int[] entries = new int[n];
        byte[] multiples = new byte[n];
        int at = 0;
        int index = -1;
        for (int j = 0; j < n; j++) {
            int gap = 0;
            for (int shift = 0; ; shift += 7) {
                if (at >= length || shift > 28) {
                    throw new IOException("corrupt gradient message: bad index gap at entry " + j);
                }
                int b = body[at++];
                gap |= (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    break;
                }
            }
            if (at >= length) {
                throw new IOException("corrupt gradient message: entry " + j + " has no multiple");
            }
            index += gap;
            int signAndMultiple = body[at++] & 0xff;
            entries[j] = (signAndMultiple & 0x80) != 0 ? -(index + 1) : index + 1;
            multiples[j] = (byte) (signAndMultiple & 0x7f);
        }
        return sparse(examples, threshold, entries, multiples);
    }
}
