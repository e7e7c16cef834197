package dev.shoal.kernel.sharing;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One worker's gradient for one step, as it travels to its peers: either threshold-encoded (a list of entries,
 * each +threshold or -threshold) or dense (every value). DL4J's gradients are sums over the minibatch (its
 * updater divides by the minibatch size), so peers add the messages up and divide by the total of
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

    /** Bytes this message takes on the wire. */
    public int wireBytes() {
        return 1 + 4 + 4 + 4 + (isDense() ? 4 * dense.length : 5 * entries.length);
    }

    public void write(DataOutputStream out) throws IOException {
        out.writeByte(isDense() ? DENSE : SPARSE);
        out.writeInt(examples);
        out.writeFloat(threshold);
        int n = isDense() ? dense.length : entries.length;
        out.writeInt(n);
        ByteBuffer bytes = ByteBuffer.allocate(isDense() ? 4 * n : 5 * n);
        if (isDense()) {
            bytes.asFloatBuffer().put(dense);
        } else {
            bytes.asIntBuffer().put(entries);
            bytes.position(4 * n);
            bytes.put(multiples);
        }
        out.write(bytes.array());
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
        byte[] bytes = new byte[kind == DENSE ? 4 * n : 5 * n];
        in.readFully(bytes);
        if (kind == DENSE) {
            float[] values = new float[n];
            ByteBuffer.wrap(bytes).asFloatBuffer().get(values);
            return dense(examples, values);
        }
        int[] entries = new int[n];
        ByteBuffer.wrap(bytes).asIntBuffer().get(entries);
        return sparse(examples, threshold, entries, Arrays.copyOfRange(bytes, 4 * n, 5 * n));
    }
}
