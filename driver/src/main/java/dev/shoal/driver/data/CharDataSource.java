package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
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
 * <p>As for {@link TextDataSource}, a source is a share of the file's windows ({@link Slots}): without a
 * separate test file some are held out. The alphabet comes from the training windows. Executor tasks read the
 * text themselves and keep their own windows.
 */
public record CharDataSource(String path, Alphabet alphabet, int length, Slots slots)
        implements DataSource, Serializable {

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
        Slots slots = Slots.training(windows(train, text.length, length), test != null, holdout, limit, seed);
        boolean[] training = slots.members();
        Alphabet alphabet = Alphabet.of(IntStream.range(0, training.length).filter(w -> training[w])
                .flatMap(w -> IntStream.range(w * length, w * length + length + 1)).map(i -> text[i]));
        return new Pair(new CharDataSource(train, alphabet, length, slots), test == null
                ? new CharDataSource(train, alphabet, length, slots.heldOut())
                : new CharDataSource(test, alphabet, length,
                        Slots.all(windows(test, read(test).length, length), seed)));
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

    @Override
    public int examples() {
        return slots.examples();
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
        int[] rowOf = slots.rows(partition, partitions, seed);
        int size = slots.blockSize(partition, partitions);
        int width = length + 1;
        float[] x = new float[size * width];
        for (int w = 0; w < rowOf.length; w++) {
            if (rowOf[w] >= 0) {
                for (int t = 0; t < width; t++) {
                    x[rowOf[w] * width + t] = alphabet.id(text[w * length + t]);
                }
            }
        }
        return new ExampleBlock(x, new int[size], width, alphabet.size());
    }
}
