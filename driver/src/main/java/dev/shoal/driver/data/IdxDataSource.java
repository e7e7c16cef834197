package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.Shuffle;
import java.io.Serializable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A pair of IDX files, images and labels, as one labelled data set.
 *
 * <p>Loading places the examples on {@code partitions} blocks by a seeded permutation, so every block holds a
 * random, equal share (sizes differ by at most one example) whatever order the file is in. Each executor task
 * streams the files itself and keeps only its share: nothing is collected on the driver and nothing is shuffled
 * through Spark. Pixel bytes are scaled to [0, 1].
 *
 * @param examples how many records, from the start of the files, make up the data set
 */
public record IdxDataSource(IdxFile images, IdxFile labels, int classes, int examples, BadRecords bad)
        implements DataSource, Serializable {

    /** Opens both headers on the driver and checks that they describe the same examples. */
    public static IdxDataSource open(String imagesPath, String labelsPath, int classes) {
        IdxFile images = IdxFile.open(imagesPath);
        IdxFile labels = IdxFile.open(labelsPath);
        if (images.dimensions().length < 2) {
            throw new DataFormatException(imagesPath + ": images must have rank >= 2, but the header has rank "
                    + images.dimensions().length);
        }
        if (labels.dimensions().length != 1) {
            throw new DataFormatException(labelsPath + ": labels must have rank 1, but the header has rank "
                    + labels.dimensions().length);
        }
        if (images.records() != labels.records()) {
            throw new DataFormatException(imagesPath + " holds " + images.records() + " images but "
                    + labelsPath + " holds " + labels.records() + " labels");
        }
        return new IdxDataSource(images, labels, classes, images.records(), BadRecords.FAIL);
    }

    /** The same files, cut to their first {@code n} examples (all of them if there are fewer). */
    public IdxDataSource first(int n) {
        return new IdxDataSource(images, labels, classes, Math.min(n, examples), bad);
    }

    /** The same files, with records that have a label out of range handled by {@code policy}. */
    public IdxDataSource with(BadRecords policy) {
        return new IdxDataSource(images, labels, classes, examples, policy);
    }

    @Override
    public int featureSize() {
        return images.recordSize();
    }

    /** Pixels read from bytes, scaled to [0, 1]. */
    @Override
    public int distinctValues() {
        return 256;
    }

    /** Rank-3 files hold greyscale images (rows x columns); any other rank is taken as flat feature vectors. */
    @Override
    public InputShape inputShape() {
        int[] d = images.dimensions();
        return d.length == 3 ? new InputShape(d[1], d[2], 1) : InputShape.vector(featureSize());
    }

    @Override
    public JavaRDD<ExampleBlock> load(JavaSparkContext sc, int partitions, long seed) {
        return DataSource.readOnExecutors(sc, partitions, images.path(), p -> readBlock(p, partitions, seed));
    }

    /** The whole data set in one block, shuffled by {@code seed}, on this JVM: for single-process baselines. */
    public ExampleBlock readAll(long seed) {
        return readBlock(0, 1, seed);
    }

    /** Runs on an executor: reads both files and keeps the examples whose slot falls in this partition. */
    ExampleBlock readBlock(int partition, int partitions, long seed) {
        int n = examples();
        int[] slotOf = Shuffle.permutation(n, seed);
        int first = DataSource.start(partition, partitions, n);
        int size = DataSource.start(partition + 1, partitions, n) - first;
        int featureSize = featureSize();
        float[] x = new float[size * featureSize];
        int[] y = new int[size];
        boolean[] filled = new boolean[size];
        images.forEachRecord(n, (i, values) -> {
            int row = slotOf[i] - first;
            if (row >= 0 && row < size) {
                for (int f = 0; f < featureSize; f++) {
                    x[row * featureSize + f] = (values[f] & 0xff) / 255f;
                }
            }
        });
        labels.forEachRecord(n, (i, values) -> {
            int label = values[0] & 0xff;
            int row = slotOf[i] - first;
            boolean mine = row >= 0 && row < size;
            if (bad.isClass(label, classes, labels.path(), i, mine) && mine) {
                y[row] = label;
                filled[row] = true;
            }
        });
        return DataSource.compact(x, y, filled, featureSize, classes);
    }
}
