package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import java.io.Serializable;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;

/**
 * A labelled data set that loads as balanced, persisted blocks: {@code partitions} blocks of n/P examples
 * (rounded down or up), placed by a seeded permutation so that each holds a random share whatever order the
 * input is in, and the same seed places the same examples on the same block.
 */
public sealed interface DataSource permits IdxDataSource, TableDataSource, TextDataSource, CifarDataSource,
        CharDataSource, ImageFolderDataSource {

    /**
     * This source ready to load: IDX and text files are checked before Spark starts, so they are ready as they
     * are; a table's schema and row count are read through Spark.
     */
    default DataSource open(JavaSparkContext sc) {
        return this;
    }

    int examples();

    /** Classes of the labels: data.classes, or for next-token data the tokens there are. */
    int classes();

    /** Feature values per example. */
    int featureSize();

    InputShape inputShape();

    /**
     * How many distinct feature values there can be, when the format bounds it: 256 for pixels read from bytes,
     * the alphabet or vocabulary for tokens; 0 when it does not (tables). At most 256, a block keeps one byte a
     * value ({@link dev.shoal.kernel.FeatureRows}).
     */
    default int distinctValues() {
        return inputShape().vocabulary();
    }

    /** Loads the data set as {@code partitions} persisted blocks and waits until they are in memory. */
    JavaRDD<ExampleBlock> load(JavaSparkContext sc, int partitions, long seed);

    /**
     * Builds the {@code partitions} blocks on the executors, one task each calling {@code reader}, keeps them in
     * executor memory and waits until they are there.
     */
    static JavaRDD<ExampleBlock> readOnExecutors(JavaSparkContext sc, int partitions, String name,
                                                 BlockReader reader) {
        JavaRDD<ExampleBlock> blocks = sc
                .parallelize(IntStream.range(0, partitions).boxed().collect(Collectors.toList()), partitions)
                .map(reader::read)
                .setName("examples " + name)
                .persist(StorageLevel.MEMORY_ONLY());
        blocks.count();
        return blocks;
    }

    /**
     * A block of the rows of {@code x} and {@code y} that were {@code filled}: all of them, unless bad records were
     * skipped.
     */
    static ExampleBlock compact(float[] x, int[] y, boolean[] filled, int featureSize, int classes) {
        if (allTrue(filled)) { // no bad record left a hole: the arrays are the block's as they are
            return new ExampleBlock(x, y, featureSize, classes);
        }
        int kept = 0;
        for (int r = 0; r < filled.length; r++) {
            if (filled[r]) {
                System.arraycopy(x, r * featureSize, x, kept * featureSize, featureSize);
                y[kept++] = y[r];
            }
        }
        return new ExampleBlock(Arrays.copyOf(x, kept * featureSize), Arrays.copyOf(y, kept), featureSize, classes);
    }

    private static boolean allTrue(boolean[] filled) {
        for (boolean f : filled) {
            if (!f) {
                return false;
            }
        }
        return true;
    }

    /** Reads one partition's block, on an executor. */
    @FunctionalInterface
    interface BlockReader extends Serializable {
        ExampleBlock read(int partition);
    }


    /** First example slot of {@code partition}; slots [start(p), start(p + 1)) belong to it. */
    static int start(int partition, int partitions, int examples) {
        return (int) ((long) partition * examples / partitions);
    }
}
