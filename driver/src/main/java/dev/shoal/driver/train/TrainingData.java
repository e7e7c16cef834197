package dev.shoal.driver.train;

import dev.shoal.kernel.ExampleBlock;
import org.apache.spark.api.java.JavaRDD;

/**
 * A loaded data set: one persisted {@link ExampleBlock} per partition.
 *
 * @param largestBlock examples in the largest partition, which sets the number of minibatches per epoch
 * @param skipped      records of the source left out as bad ({@code data.skip-bad-records})
 */
public record TrainingData(JavaRDD<ExampleBlock> blocks, long examples, int largestBlock, long skipped) {

    /** Minibatches of {@code batchSize} in an epoch: the largest partition's. */
    public int batchesPerEpoch(int batchSize) {
        return (largestBlock + batchSize - 1) / batchSize;
    }

    /** Data without skipped records. */
    public TrainingData(JavaRDD<ExampleBlock> blocks, long examples, int largestBlock) {
        this(blocks, examples, largestBlock, 0);
    }
}
