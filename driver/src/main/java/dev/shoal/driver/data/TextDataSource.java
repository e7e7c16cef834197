package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Labelled texts ({@link TextFile}) as token sequences: each example is {@code maxLength} token ids from the
 * {@link Vocabulary}, its class the record's label.
 *
 * <p>A source is a share of its file ({@link Slots}); a file with no separate test file is split in two
 * ({@link #split}), and the vocabulary is built from the training share only. Loading places the share's
 * examples on blocks by a second permutation, drawn from the load's seed, as for IDX files: each executor task
 * streams the file and keeps its own examples, so nothing is collected on the driver.
 */
public record TextDataSource(TextFile file, Vocabulary vocabulary, int maxLength, Slots slots)
        implements DataSource, Serializable {

    /** A training set and the test set it is scored on, sharing one vocabulary. */
    public record Pair(TextDataSource train, TextDataSource test) {
    }

    /**
     * The training set of {@code train} and the test set of {@code test}, or, when {@code test} is null, a split
     * of {@code train} that holds {@code holdout} of its records out as the test set. The vocabulary is the
     * {@code vocabularySize} most frequent words of the training set. Reads the files on the driver: a
     * counting pass, which checks every record ({@code bad} decides what a bad one does), and a pass that counts
     * words.
     *
     * @param limit train on this many examples only; 0 for all
     */
    public static Pair split(TextFile train, TextFile test, double holdout, int limit, int maxLength,
                             int vocabularySize, long seed, BadRecords bad) {
        Slots slots = Slots.training(train.count(bad), test != null, holdout, limit, seed);
        boolean[] training = slots.members();
        Map<String, Integer> counts = new HashMap<>();
        train.forEachRecord((i, text, label) -> {
            if (training[i]) {
                for (String word : Vocabulary.words(text)) {
                    counts.merge(word, 1, Integer::sum);
                }
            }
        }, (i, problem) -> { });
        Vocabulary vocabulary = Vocabulary.mostFrequent(counts, vocabularySize);
        return new Pair(new TextDataSource(train, vocabulary, maxLength, slots), test == null
                ? new TextDataSource(train, vocabulary, maxLength, slots.heldOut())
                : new TextDataSource(test, vocabulary, maxLength, Slots.all(test.count(bad), seed)));
    }

    @Override
    public int examples() {
        return slots.examples();
    }

    @Override
    public int classes() {
        return file.classes();
    }

    @Override
    public int featureSize() {
        return maxLength;
    }

    @Override
    public InputShape inputShape() {
        return InputShape.sequence(maxLength, vocabulary.size());
    }

    @Override
    public JavaRDD<ExampleBlock> load(JavaSparkContext sc, int partitions, long seed) {
        return DataSource.readOnExecutors(sc, partitions, file.path(), p -> readBlock(p, partitions, seed));
    }

    /** The whole set in one block, placed by {@code seed}, on this JVM: for single-process baselines. */
    public ExampleBlock readAll(long seed) {
        return readBlock(0, 1, seed);
    }

    /** Runs on an executor: streams the file and keeps the examples that this partition holds. */
    ExampleBlock readBlock(int partition, int partitions, long seed) {
        int[] rowOf = slots.rows(partition, partitions, seed);
        int size = slots.blockSize(partition, partitions);
        float[] x = new float[size * maxLength];
        int[] y = new int[size];
        boolean[] filled = new boolean[size];
        // Bad records were checked (and skipped, or the run failed) when the driver counted the records.
        file.forEachRecord((i, text, label) -> {
            int row = rowOf[i];
            if (row >= 0) {
                vocabulary.sequence(text, maxLength, x, row * maxLength);
                y[row] = label;
                filled[row] = true;
            }
        }, (i, problem) -> { });
        return DataSource.compact(x, y, filled, maxLength, file.classes());
    }
}
