package dev.shoal.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The explicit, versioned byte form of a {@link WorkerResult}: what a task sends back to the driver (Spark
 * carries these bytes; see {@link WorkerResult}'s serialized form).
 *
 * <pre>
 * size  field
 *    8  magic "SHOALWRK"
 *    4  format version (currently 1)
 *    4  value width W: 4 when the sums are one unweighted worker's own floats (sent as float32, exactly),
 *       8 otherwise (float64 sums)
 *    4  workers        8  weight (float64)       8  examples      4  most steps
 *    8  loss sum (float64)   8  compute ns   8  slowest compute ns
 *   24  memory: resident, heap committed, heap used (MB, int64 each)
 *    4  number of parameters P     4  number of updater-state values U
 * W(P+U) parameter sums, then updater-state sums, little-endian
 *    4  CRC-32C of every byte before it
 * </pre>
 */
public final class WorkerResultCodec {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "SHOALWRK".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 24 + 4 + 4;
    private static final int TRAILER = Integer.BYTES;

    private WorkerResultCodec() {
    }

    /** The bytes of one unweighted worker's result of {@code values} parameters and updater-state values. */
    public static long workerBytes(long values) {
        return HEADER + (long) Float.BYTES * values + TRAILER;
    }

    public static byte[] encode(WorkerResult r) {
        int width = r.workers() == 1 && r.weight() == 1 ? Float.BYTES : Double.BYTES;
        int p = r.paramSum().length;
        int u = r.updaterSum().length;
        int size = HEADER + width * (p + u) + TRAILER;
        ByteBuffer buf = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putInt(VERSION).putInt(width).putInt(r.workers()).putDouble(r.weight())
                .putLong(r.examples()).putInt(r.maxSteps()).putDouble(r.lossSum()).putLong(r.computeNanos())
                .putLong(r.maxComputeNanos()).putLong(r.memory().rssMb()).putLong(r.memory().heapCommittedMb())
                .putLong(r.memory().heapUsedMb()).putInt(p).putInt(u);
        for (double[] values : new double[][] {r.paramSum(), r.updaterSum()}) {
            for (double v : values) {
                if (width == Float.BYTES) {
                    buf.putFloat((float) v);
                } else {
                    buf.putDouble(v);
                }
            }
        }
        buf.putInt(Checksum.crc32c(buf.array(), size - TRAILER));
        return buf.array();
    }

    /** @throws CorruptSnapshotException naming the first check that failed */
    public static WorkerResult decode(byte[] bytes) {
        Decoder d = new Decoder(bytes);
        double[] params = new double[d.params];
        double[] updater = new double[d.updater];
        d.readValues(params, updater, false);
        WorkerResult f = d.figures;
        return new WorkerResult(params, updater, f.workers(), f.weight(), f.examples(), f.maxSteps(), f.lossSum(),
                f.computeNanos(), f.maxComputeNanos(), f.memory());
    }

    /**
     * An encoded result whose header and checksum have been checked: its figures (without values) and how many
     * values it holds, which {@link #readValues} then reads into arrays the caller owns.
     */
    static final class Decoder {
        final WorkerResult figures;
        final int params;
        final int updater;
        private final ByteBuffer buf;
        private final int width;

        /** @throws CorruptSnapshotException naming the first check that failed */
        Decoder(byte[] bytes) {
            if (bytes.length < HEADER + TRAILER) {
                throw new CorruptSnapshotException("worker result is " + bytes.length + " bytes, shorter than its "
                        + (HEADER + TRAILER) + "-byte header and checksum");
            }
            buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[MAGIC.length];
            buf.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new CorruptSnapshotException("not a Shoal worker result: magic is '"
                        + new String(magic, StandardCharsets.ISO_8859_1) + "'");
            }
            int version = buf.getInt();
            if (version != VERSION) {
                throw new CorruptSnapshotException("worker result format version " + version
                        + " is not supported; this build reads version " + VERSION);
            }
            int stored = ByteBuffer.wrap(bytes, bytes.length - TRAILER, TRAILER).order(ByteOrder.LITTLE_ENDIAN)
                    .getInt();
            int actual = Checksum.crc32c(bytes, bytes.length - TRAILER);
            if (stored != actual) {
                throw new CorruptSnapshotException(String.format(
                        "worker result checksum mismatch: stored %08x, computed %08x", stored, actual));
            }
            width = buf.getInt();
            int workers = buf.getInt();
            double weight = buf.getDouble();
            long examples = buf.getLong();
            int steps = buf.getInt();
            double lossSum = buf.getDouble();
            long computeNanos = buf.getLong();
            long maxComputeNanos = buf.getLong();
            MemoryUse memory = new MemoryUse(buf.getLong(), buf.getLong(), buf.getLong());
            params = buf.getInt();
            updater = buf.getInt();
            if ((width != Float.BYTES && width != Double.BYTES) || params < 0 || updater < 0
                    || HEADER + (long) width * (params + updater) + TRAILER != bytes.length) {
                throw new CorruptSnapshotException("worker result declares " + params + " + " + updater
                        + " values of " + width + " bytes but is " + bytes.length + " bytes long");
            }
            figures = new WorkerResult(new double[0], new double[0], workers, weight, examples, steps, lossSum,
                    computeNanos, maxComputeNanos, memory);
        }

        /**
         * Reads the parameter sums into {@code paramSums} and the updater-state sums into {@code updaterSums}
         * ({@link #params} and {@link #updater} long): added to what they hold when {@code add}, else written
         * over it.
         */
        void readValues(double[] paramSums, double[] updaterSums, boolean add) {
            for (double[] values : new double[][] {paramSums, updaterSums}) {
                for (int i = 0; i < values.length; i++) {
                    double v = width == Float.BYTES ? buf.getFloat() : buf.getDouble();
                    values[i] = add ? values[i] + v : v;
                }
            }
        }
    }
}
