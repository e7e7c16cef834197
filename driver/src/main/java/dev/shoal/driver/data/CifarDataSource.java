package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.Shuffle;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The CIFAR-10 binary format: records of one label byte and 3,072 pixel bytes, a 32x32 colour image as its red,
 * green and blue planes, each row by row (the order of {@link InputShape}'s flattening). A source is one file, a
 * folder of them or a glob ({@code data_batch_*.bin}), read in name order. Sizes are checked
 * on the driver, labels as executors read them; pixels are scaled to [0, 1]. Loading places examples on blocks
 * by a seeded permutation, each executor task streaming the files and keeping its own share, as for IDX files.
 *
 * @param files   the files, in reading order
 * @param records records in each file
 */
public record CifarDataSource(List<String> files, int[] records, int classes, int examples, BadRecords bad)
        implements DataSource, Serializable {
    public static final int SIDE = 32;
    public static final int CHANNELS = 3;
    private static final int PIXELS = SIDE * SIDE * CHANNELS;
    private static final int RECORD = 1 + PIXELS;

    /** Lists the files of {@code path} (a file, a folder or a glob) and checks that each holds whole records. */
    public static CifarDataSource open(String path, int classes) {
        try {
            List<FileStatus> statuses = InputFiles.list(path);
            if (statuses.isEmpty()) {
                throw new DataFormatException(path + ": no files there");
            }
            List<String> files = new ArrayList<>();
            int[] records = new int[statuses.size()];
            long total = 0;
            for (int f = 0; f < statuses.size(); f++) {
                FileStatus s = statuses.get(f);
                if (s.getLen() == 0 || s.getLen() % RECORD != 0) {
                    throw new DataFormatException(String.format("%s: not CIFAR-10 binary: %,d bytes is not a whole "
                            + "number of %,d-byte records (1 label byte, 3,072 pixel bytes); the file ends inside "
                            + "record %d", s.getPath(), s.getLen(), RECORD, s.getLen() / RECORD));
                }
                files.add(s.getPath().toString());
                records[f] = (int) (s.getLen() / RECORD);
                total += records[f];
            }
            return new CifarDataSource(files, records, classes, Math.toIntExact(total), BadRecords.FAIL);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** The same files, cut to their first {@code n} examples (all of them if there are fewer). */
    public CifarDataSource first(int n) {
        return new CifarDataSource(files, records, classes, Math.min(n, examples), bad);
    }

    /** The same files, with records that have a label out of range handled by {@code policy}. */
    public CifarDataSource with(BadRecords policy) {
        return new CifarDataSource(files, records, classes, examples, policy);
    }

    @Override
    public int featureSize() {
        return PIXELS;
    }

    /** Pixels read from bytes, scaled to [0, 1]. */
    @Override
    public int distinctValues() {
        return 256;
    }

    @Override
    public InputShape inputShape() {
        return new InputShape(SIDE, SIDE, CHANNELS);
    }

    @Override
    public JavaRDD<ExampleBlock> load(JavaSparkContext sc, int partitions, long seed) {
        return DataSource.readOnExecutors(sc, partitions, files.get(0), p -> readBlock(p, partitions, seed));
    }

    /** Runs on an executor: streams the files and keeps the examples whose slot falls in this partition. */
    ExampleBlock readBlock(int partition, int partitions, long seed) {
        int[] slotOf = Shuffle.permutation(examples, seed);
        int first = DataSource.start(partition, partitions, examples);
        int size = DataSource.start(partition + 1, partitions, examples) - first;
        float[] x = new float[size * PIXELS];
        int[] y = new int[size];
        boolean[] filled = new boolean[size];
        byte[] record = new byte[RECORD];
        int index = 0;
        for (int f = 0; f < files.size() && index < examples; f++) {
            try (DataInputStream in = new DataInputStream(InputFiles.open(files.get(f)))) {
                for (int r = 0; r < records[f] && index < examples; r++, index++) {
                    try {
                        in.readFully(record);
                    } catch (EOFException e) {
                        throw new DataFormatException(files.get(f) + ": file ends inside record " + r
                                + " (it changed since the run started?)");
                    }
                    int label = record[0] & 0xff;
                    int row = slotOf[index] - first;
                    boolean mine = row >= 0 && row < size;
                    if (bad.isClass(label, classes, files.get(f), r, mine) && mine) {
                        y[row] = label;
                        filled[row] = true;
                        for (int v = 0; v < PIXELS; v++) {
                            x[row * PIXELS + v] = (record[1 + v] & 0xff) / 255f;
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + files.get(f) + ": " + e.getMessage(), e);
            }
        }
        return DataSource.compact(x, y, filled, PIXELS, classes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CifarDataSource c && files.equals(c.files) && Arrays.equals(records, c.records)
                && classes == c.classes && examples == c.examples && bad.equals(c.bad);
    }

    @Override
    public int hashCode() {
        return files.hashCode() * 31 + examples;
    }
}
