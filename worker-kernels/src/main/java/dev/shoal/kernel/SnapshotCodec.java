package dev.shoal.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The explicit, versioned byte form of a {@link ModelSnapshot}, used for broadcasts and checkpoints.
 *
 * <pre>
 * offset  size  field
 *      0     8  magic "SHOALSNP"
 *      8     4  format version (currently 1)
 *     12     4  iteration
 *     16     4  epoch
 *     20     4  number of parameters P
 *     24     4  number of updater-state values U
 *     28  4P+4U  parameters, then updater state, IEEE-754 float32 little-endian
 *    end     4  CRC-32C of every byte before it
 * </pre>
 * Decoding checks all of it and says which check failed; a snapshot never half-loads.
 */
public final class SnapshotCodec {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "SHOALSNP".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + 5 * Integer.BYTES;
    private static final int TRAILER = Integer.BYTES;

    private SnapshotCodec() {
    }

    public static byte[] encode(ModelSnapshot s) {
        int size = HEADER + Float.BYTES * (s.params().length + s.updaterState().length) + TRAILER;
        ByteBuffer buf = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putInt(VERSION).putInt(s.iteration()).putInt(s.epoch())
                .putInt(s.params().length).putInt(s.updaterState().length);
        buf.asFloatBuffer().put(s.params()).put(s.updaterState());
        buf.position(size - TRAILER);
        buf.putInt(Checksum.crc32c(buf.array(), size - TRAILER));
        return buf.array();
    }

    /** @throws CorruptSnapshotException naming the first check that failed */
    public static ModelSnapshot decode(byte[] bytes) {
        if (bytes.length < HEADER + TRAILER) {
            throw new CorruptSnapshotException("snapshot is " + bytes.length + " bytes, shorter than its "
                    + (HEADER + TRAILER) + "-byte header and checksum");
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[MAGIC.length];
        buf.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new CorruptSnapshotException("not a Shoal snapshot: magic is '"
                    + new String(magic, StandardCharsets.ISO_8859_1) + "', expected 'SHOALSNP'");
        }
        int version = buf.getInt();
        if (version != VERSION) {
            throw new CorruptSnapshotException("snapshot format version " + version
                    + " is not supported; this build reads version " + VERSION);
        }
        int iteration = buf.getInt();
        int epoch = buf.getInt();
        int p = buf.getInt();
        int u = buf.getInt();
        long expected = HEADER + 4L * p + 4L * u + TRAILER;
        if (p < 0 || u < 0 || expected != bytes.length) {
            throw new CorruptSnapshotException("snapshot declares " + p + " parameters and " + u
                    + " updater values (" + expected + " bytes) but is " + bytes.length + " bytes long");
        }
        int stored = ByteBuffer.wrap(bytes, bytes.length - TRAILER, TRAILER).order(ByteOrder.LITTLE_ENDIAN).getInt();
        int actual = Checksum.crc32c(bytes, bytes.length - TRAILER);
        if (stored != actual) {
            throw new CorruptSnapshotException(String.format(
                    "snapshot checksum mismatch: stored %08x, computed %08x", stored, actual));
        }
        float[] params = new float[p];
        float[] updater = new float[u];
        buf.asFloatBuffer().get(params).get(updater);
        return new ModelSnapshot(params, updater, iteration, epoch);
    }
}
