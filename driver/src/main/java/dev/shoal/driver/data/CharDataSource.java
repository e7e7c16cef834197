package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.Shuffle;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A plain UTF-8 text as examples for a character-level language model: the text is cut into windows of
 * {@code length + 1} characters, one every {@code length} (so that each character but the first is predicted
 * once), and each window's characters become {@link Alphabet} ids. The network reads a window's first
 * {@code length} ids and learns every next one.
 *
 * <p>As for {@link TextDataSource}, a source is the windows whose slot, in the permutation of all windows drawn
 * from {@code splitSeed}, lies in {@code [from, from + examples)}: without a separate test file the first slots
 * are held out. The alphabet comes from the training windows. Executor tasks read the text themselves and keep
 * their own windows.
 *
 * @param windows windows in the whole file
 */
public record CharDataSource(String path, Alphabet alphabet, int length, long splitSeed, int windows, int from,
                             int examples) implements DataSource, Serializable {

    /** A training set and the test set it is scored on, sharing one alphabet. */
    public record Pair(CharDataSource train, CharDataSource test) {
    }

    /**
     * The training windows of {@code train} and all windows of {@code test}, or, when {@code test} is null, a
     * split of {@code train}'s windows that holds {@code holdout} of them out. Reads the text on the driver.
     *
     * @param limit train on this many windows only; 0 for all
     */
    public static Pair split(String train, String test, double holdout, int limit, int length, long seed) {
        int[] text = read(train);
        int windows = windows(train, text.length, length);
        int held = test == null ? (int) Math.round(holdout * windows) : 0;
        int examples = windows - held;
        if (limit > 0) {
            examples = Math.min(limit, examples);
        }
        int[] slotOf = Shuffle.permutation(windows, seed);
        int first = held;
        int end = held + examples;
        Alphabet alphabet = Alphabet.of(IntStream.range(0, windows).filter(w -> slotOf[w] >= first && slotOf[w] < end)
                .flatMap(w -> IntStream.range(w * length, w * length + length + 1)).map(i -> text[i]));
        CharDataSource trainSource = new CharDataSource(train, alphabet, length, seed, windows, held, examples);
        if (test == null) {
            return new Pair(trainSource, new CharDataSource(train, alphabet, length, seed, windows, 0, held));
        }
        int testWindows = windows(test, read(test).length, length);
        return new Pair(trainSource, new CharDataSource(test, alphabet, length, seed, testWindows, 0, testWindows));
    }

    private static int windows(String path, int characters, int length) {
        int windows = (characters - 1) / length;
        if (windows < 1) {
            throw new DataFormatException(path + ": " + characters + " characters do not make one example of "
                    + (length + 1) + " (data.max-length + 1)");
        }
        return windows;
    }

    /** The file's characters as code points; a byte sequence that is not UTF-8 fails naming its offset. */
    static int[] read(String path) {
        try (InputStream in = InputFiles.open(path)) {
            byte[] bytes = in.readAllBytes();
            CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
            ByteBuffer input = ByteBuffer.wrap(bytes);
            CharBuffer chars = CharBuffer.allocate(bytes.length);
            CoderResult result = decoder.decode(input, chars, true);
            if (result.isError()) {
                throw new DataFormatException(String.format("%s: not UTF-8 text: byte 0x%02x at offset %,d",
                        path, bytes[input.position()] & 0xff, input.position()));
            }
            decoder.flush(chars);
            return chars.flip().codePoints().toArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** The alphabet's ids are the classes: the network predicts one at every step. */
    @Override
    public int classes() {
        return alphabet.size();
    }

    @Override
    public int featureSize() {
        return length + 1;
    }

    /** What the network reads: the first {@code length} ids of a window. */
    @Override
    public InputShape inputShape() {
        return InputShape.sequence(length, alphabet.size());
    }

    @Override
    public JavaRDD<ExampleBlock> load(JavaSparkContext sc, int partitions, long seed) {
        return DataSource.readOnExecutors(sc, partitions, path, p -> readBlock(p, partitions, seed));
    }

    /** Runs on an executor: reads the text and keeps the windows that this partition holds. */
    ExampleBlock readBlock(int partition, int partitions, long seed) {
        int[] text = read(path);
        int[] slotOf = Shuffle.permutation(windows, splitSeed);
        int[] placeOf = Shuffle.permutation(examples, seed);
        int first = DataSource.start(partition, partitions, examples);
        int size = DataSource.start(partition + 1, partitions, examples) - first;
        int width = length + 1;
        float[] x = new float[size * width];
        for (int w = 0; w < windows; w++) {
            int slot = slotOf[w] - from;
            if (slot < 0 || slot >= examples) {
                continue;
            }
            int row = placeOf[slot] - first;
            if (row >= 0 && row < size) {
                for (int t = 0; t < width; t++) {
                    x[row * width + t] = alphabet.id(text[w * length + t]);
                }
            }
        }
        return new ExampleBlock(x, new int[size], width, alphabet.size());
    }
}
