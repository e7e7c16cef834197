package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.Shuffle;
import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Labelled texts ({@link TextFile}) as token sequences: each example is {@code maxLength} token ids from the
 * {@link Vocabulary}, its class the record's label.
 *
 * <p>A source is a share of its file: the records whose slot, in the permutation of the file's records drawn
 * from {@code splitSeed}, lies in {@code [from, from + examples)}. A file with no separate test file is split
 * so ({@link #split}): the first slots are the test set, the rest the training set, and the vocabulary is built
 * from the training slots only. Loading places the share's examples on blocks by a second permutation, drawn
 * from the load's seed, as for IDX files: each executor task streams the file and keeps its own examples, so
 * nothing is collected on the driver.
 */
public record TextDataSource(TextFile file, Vocabulary vocabulary, int maxLength, long splitSeed, int records,
                             int from, int examples) implements DataSource, Serializable {

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
        int records = train.count(bad);
        int held = test == null ? (int) Math.round(holdout * records) : 0;
        int examples = records - held;
        if (limit > 0) {
            examples = Math.min(limit, examples);
        }
        int[] slotOf = Shuffle.permutation(records, seed);
        int first = held;
        int end = held + examples;
        Map<String, Integer> counts = new HashMap<>();
        train.forEachRecord((i, text, label) -> {
            if (slotOf[i] >= first && slotOf[i] < end) {
                for (String word : Vocabulary.words(text)) {
                    counts.merge(word, 1, Integer::sum);
                }
            }
        }, (i, problem) -> { });
        Vocabulary vocabulary = Vocabulary.mostFrequent(counts, vocabularySize);
        TextDataSource trainSource = new TextDataSource(train, vocabulary, maxLength, seed, records, held, examples);
        TextDataSource testSource = test == null
                ? new TextDataSource(train, vocabulary, maxLength, seed, records, 0, held)
                : whole(test, vocabulary, maxLength, seed, bad);
        return new Pair(trainSource, testSource);
    }

    private static TextDataSource whole(TextFile file, Vocabulary vocabulary, int maxLength, long seed,
                                        BadRecords bad) {
        int records = file.count(bad);
        return new TextDataSource(file, vocabulary, maxLength, seed, records, 0, records);
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

    /** Runs on an executor: streams the file and keeps the examples that this partition holds. */
    ExampleBlock readBlock(int partition, int partitions, long seed) {
        int[] slotOf = Shuffle.permutation(records, splitSeed);
        int[] placeOf = Shuffle.permutation(examples, seed);
        int first = DataSource.start(partition, partitions, examples);
        int size = DataSource.start(partition + 1, partitions, examples) - first;
        float[] x = new float[size * maxLength];
        int[] y = new int[size];
        boolean[] filled = new boolean[size];
        // Bad records were checked (and skipped, or the run failed) when the driver counted the records.
        file.forEachRecord((i, text, label) -> {
            int slot = slotOf[i] - from;
            if (slot < 0 || slot >= examples) {
                return;
            }
            int row = placeOf[slot] - first;
            if (row >= 0 && row < size) {
                vocabulary.sequence(text, maxLength, x, row * maxLength);
                y[row] = label;
                filled[row] = true;
            }
        }, (i, problem) -> { });
        return DataSource.compact(x, y, filled, maxLength, file.classes());
    }
}
