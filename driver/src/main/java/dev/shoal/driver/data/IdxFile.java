package dev.shoal.driver.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * An IDX file (the MNIST format): a 4-byte magic {@code 0 0 type rank}, {@code rank} big-endian int dimensions,
 * then the values. Only unsigned bytes (type 0x08) are supported, which is what MNIST-style sets use. A file may
 * be gzipped; that is detected from its first bytes, not its name. Read through Hadoop's FileSystem, so any URI
 * Hadoop knows works.
 *
 * @param path       where the file is
 * @param dimensions the dimensions from the header; the first is the record count
 */
public record IdxFile(String path, int[] dimensions) implements Serializable {
    private static final int UNSIGNED_BYTE = 0x08;

    /** Reads and checks the header. */
    public static IdxFile open(String path) {
        try (DataInputStream in = stream(path)) {
            int magic;
            try {
                magic = in.readInt();
            } catch (EOFException e) {
                throw new DataFormatException(path + ": empty or shorter than an IDX header");
            }
            int type = (magic >>> 8) & 0xff;
            int rank = magic & 0xff;
            if ((magic >>> 16) != 0 || rank < 1 || rank > 4) {
                throw new DataFormatException(String.format(
                        "%s: not an IDX file: magic number is 0x%08x, expected 0x0000TTRR (type, rank 1-4)",
                        path, magic));
            }
            if (type != UNSIGNED_BYTE) {
                throw new DataFormatException(String.format(
                        "%s: IDX value type 0x%02x is not supported; only unsigned bytes (0x08) are", path, type));
            }
            int[] dims = new int[rank];
            for (int i = 0; i < rank; i++) {
                dims[i] = in.readInt();
                if (dims[i] < 0) {
                    throw new DataFormatException(path + ": dimension " + i + " is negative: " + dims[i]);
                }
            }
            return new IdxFile(path, dims);
        } catch (EOFException e) {
            throw new DataFormatException(path + ": header ends early", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    public int records() {
        return dimensions[0];
    }

    /** Values per record: the product of all dimensions but the first. */
    public int recordSize() {
        int size = 1;
        for (int i = 1; i < dimensions.length; i++) {
            size *= dimensions[i];
        }
        return size;
    }

    /** Calls {@code sink} once per record, in file order, with a buffer the sink must not keep. */
    public void forEachRecord(RecordSink sink) {
        forEachRecord(records(), sink);
    }

    /** Like {@link #forEachRecord(RecordSink)}, for the first {@code count} records only. */
    public void forEachRecord(int count, RecordSink sink) {
        byte[] record = new byte[recordSize()];
        try (DataInputStream in = stream(path)) {
            in.skipNBytes(4L + 4L * dimensions.length);
            for (int r = 0; r < Math.min(count, records()); r++) {
                try {
                    in.readFully(record);
                } catch (EOFException e) {
                    throw new DataFormatException(path + ": file ends inside record " + r + " of the "
                            + records() + " its header declares");
                }
                sink.accept(r, record);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Records [{@code first}, {@code end}) as unsigned bytes scaled to [0, 1] (pixels, as training reads them), one
     * record after another.
     */
    public float[] readScaled(int first, int end) {
        int size = recordSize();
        float[] x = new float[(end - first) * size];
        forEachRecord(end, (i, values) -> {
            if (i >= first) {
                for (int f = 0; f < size; f++) {
                    x[(i - first) * size + f] = (values[f] & 0xff) / 255f;
                }
            }
        });
        return x;
    }

    /** The one-byte labels of records [{@code first}, {@code end}) of a label file. */
    public int[] readLabels(int first, int end) {
        int[] y = new int[end - first];
        forEachRecord(end, (i, values) -> {
            if (i >= first) {
                y[i - first] = values[0] & 0xff;
            }
        });
        return y;
    }

    /** Receives one record. */
    @FunctionalInterface
    public interface RecordSink {
        void accept(int index, byte[] values);
    }

    private static DataInputStream stream(String path) throws IOException {
        return new DataInputStream(InputFiles.open(path));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdxFile f && path.equals(f.path) && Arrays.equals(dimensions, f.dimensions);
    }

    @Override
    public int hashCode() {
        return path.hashCode() * 31 + Arrays.hashCode(dimensions);
    }

    @Override
    public String toString() {
        return path + " " + Arrays.toString(dimensions);
    }
}
