package dev.shoal.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

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
        ByteBuffer buf = header(r, width, p, u, new byte[0]);
        for (double[] values : new double[][] {r.paramSum(), r.updaterSum()}) {
            for (double v : values) {
                if (width == Float.BYTES) {
                    buf.putFloat((float) v);
                } else {
                    buf.putDouble(v);
                }
            }
        }
        return withChecksum(buf);
    }

    /**
     * The bytes {@link #encode} gives for one unweighted worker's result with the figures of {@code figures}
     * (whose own sums are ignored) and these values, copied in bulk from where they are (a network's arrays)
     * without the float arrays and their widening to doubles that {@link WorkerResult#of} makes.
     *
     * @param params       the parameters, from position to limit
     * @param updaterParts the updater state, one part after the other, each from position to limit
     * @param reuse        written over and returned when it is exactly the encoding's size (a worker sending one
     *                     model's results round after round), else a new array is returned
     */
    public static byte[] encode(WorkerResult figures, FloatBuffer params, List<FloatBuffer> updaterParts,
                                byte[] reuse) {
        if (figures.workers() != 1 || figures.weight() != 1) {
            throw new IllegalArgumentException("values in floats are one unweighted worker's; got "
                    + figures.workers() + " workers of weight " + figures.weight());
        }
        int u = updaterParts.stream().mapToInt(FloatBuffer::remaining).sum();
        ByteBuffer buf = header(figures, Float.BYTES, params.remaining(), u, reuse);
        FloatBuffer values = buf.asFloatBuffer();
        values.put(params.duplicate());
        for (FloatBuffer part : updaterParts) {
            values.put(part.duplicate());
        }
        buf.position(buf.position() + Float.BYTES * values.position());
        return withChecksum(buf);
    }

    /**
     * A buffer of the whole encoding's size ({@code reuse}'s bytes when it has that size), its header written,
     * positioned at the first value.
     */
    private static ByteBuffer header(WorkerResult r, int width, int p, int u, byte[] reuse) {
        int size = HEADER + width * (p + u) + TRAILER;
        ByteBuffer buf = (reuse.length == size ? ByteBuffer.wrap(reuse) : ByteBuffer.allocate(size))
                .order(ByteOrder.LITTLE_ENDIAN);
        return buf.put(MAGIC).putInt(VERSION).putInt(width).putInt(r.workers()).putDouble(r.weight())
                .putLong(r.examples()).putInt(r.maxSteps()).putDouble(r.lossSum()).putLong(r.computeNanos())
                .putLong(r.maxComputeNanos()).putLong(r.memory().rssMb()).putLong(r.memory().heapCommittedMb())
                .putLong(r.memory().heapUsedMb()).putInt(p).putInt(u);
    }

    private static byte[] withChecksum(ByteBuffer buf) {
        buf.putInt(Checksum.crc32c(buf.array(), buf.position()));
        return buf.array();
    }

    /** @throws CorruptSnapshotException naming the first check that failed */
    public static WorkerResult decode(byte[] bytes) {
        Decoder d = new Decoder(bytes);
        double[] params = new double[d.params];
        double[] updater = new double[d.updater];
        float[] scratch = new float[Decoder.CHUNK];
        d.readValues(0, d.params, params, false, scratch, null);
        d.readValues(d.params, d.updater, updater, false, scratch, null);
        WorkerResult f = d.figures;
        return new WorkerResult(params, updater, f.workers(), f.weight(), f.examples(), f.maxSteps(), f.lossSum(),
                f.computeNanos(), f.maxComputeNanos(), f.memory());
    }

    /**
     * An encoded result whose header and checksum have been checked: its figures (without values) and how many
     * values it holds, which {@link #readValues} then reads into arrays the caller owns.
     */
    static final class Decoder {
        /** A good length for the scratch arrays of {@link #readValues}: a few pages, read in one copy. */
        static final int CHUNK = 4096;
        final WorkerResult figures;
        final int params;
        final int updater;
        private final int width;
        private final FloatBuffer floatValues;
        private final DoubleBuffer doubleValues;

        /** @throws CorruptSnapshotException naming the first check that failed */
        Decoder(byte[] bytes) {
            if (bytes.length < HEADER + TRAILER) {
                throw new CorruptSnapshotException("worker result is " + bytes.length + " bytes, shorter than its "
                        + (HEADER + TRAILER) + "-byte header and checksum");
            }
            ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
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
            ByteBuffer values = buf.slice(HEADER, width * (params + updater)).order(ByteOrder.LITTLE_ENDIAN);
            floatValues = values.asFloatBuffer();
            doubleValues = values.asDoubleBuffer();
        }

        /**
         * Reads values {@code first} to {@code first + count - 1} (the parameters, then the updater state, counted
         * as one sequence) into {@code into}'s first {@code count} entries: added to what they hold when
         * {@code add}, else written over it. Read in bulk through the scratch arrays, of any length:
         * {@code floatScratch} for float values, {@code doubleScratch} (unused, may be null, unless adding) for
         * double ones.
         */
        void readValues(int first, int count, double[] into, boolean add, float[] floatScratch,
                        double[] doubleScratch) {
            if (width == Double.BYTES && !add) {
                doubleValues.get(first, into, 0, count);
                return;
            }
            int chunk = width == Float.BYTES ? floatScratch.length : doubleScratch.length;
            for (int done = 0; done < count; done += chunk) {
                int n = Math.min(chunk, count - done);
                if (width == Float.BYTES) {
                    floatValues.get(first + done, floatScratch, 0, n);
                    for (int i = 0; i < n; i++) {
                        into[done + i] = add ? into[done + i] + floatScratch[i] : floatScratch[i];
                    }
                } else {
                    doubleValues.get(first + done, doubleScratch, 0, n);
                    for (int i = 0; i < n; i++) {
                        into[done + i] += doubleScratch[i];
                    }
                }
            }
        }
    }
}
