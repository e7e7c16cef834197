package dev.shoal.driver.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Labelled texts: the tokenizer, the JSON reader with every malformed input, the split and the blocks. */
class TextDataSourceTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    /** Token ids per example in the split tests: one padding, a record's own word and its three digits. */
    private static final int LENGTH = 5;

    @TempDir
    Path dir;

    @Test
    void wordsAreLowerCasedWithoutMarkupOrPunctuation() {
        assertEquals(List.of("a", "great", "film", "don't", "miss", "it", "10", "10", "café"),
                Vocabulary.words("A great film!<br /><br />Don't miss it: 10/10 'café'"));
    }

    @Test
    void vocabularyRoundTripsTheWordsItKnowsAndMarksTheOthers() throws IOException {
        Vocabulary v = Vocabulary.mostFrequent(Map.of("the", 9, "film", 4, "plot", 4, "rare", 1), 3);
        assertEquals(5, v.size());
        // Most frequent first from id 2; equal counts alphabetically.
        assertArrayEquals(new int[] {2, 3, 2, 4, Vocabulary.UNKNOWN}, v.ids("The film, the plot... rare"));
        assertEquals("the film the plot ?", v.decode(v.ids("The film, the plot... rare")));
        String text = "The plot: the FILM <br/>the plot";
        assertEquals(String.join(" ", Vocabulary.words(text)), v.decode(v.ids(text)));

        Path saved = dir.resolve("vocabulary.txt");
        v.write(saved);
        Vocabulary read = Vocabulary.read(saved);
        assertArrayEquals(v.ids(text), read.ids(text));
        assertEquals(v.size(), read.size());
    }

    @Test
    void aSequenceKeepsTheLastWordsOfALongTextAndPadsAShortOneInFront() {
        Vocabulary v = Vocabulary.mostFrequent(Map.of("a", 5, "b", 4, "c", 3, "d", 2), 4);
        float[] out = new float[8];
        v.sequence("a b c d a", 3, out, 0);
        v.sequence("b", 3, out, 3);
        assertArrayEquals(new float[] {4, 5, 2, 0, 0, 3, 0, 0}, out);
    }

    @Test
    void readsAnArrayOfObjectsJsonLinesAndGzippedFilesAlike() throws IOException {
        String array = "[{\"t\": \"first\", \"s\": 0}, {\"t\": \"second\", \"s\": 1}]";
        String lines = "{\"t\": \"first\", \"s\": 0}\n{\"t\": \"second\", \"s\": 1}\n";
        Path gz = dir.resolve("reviews.json.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(array.getBytes(StandardCharsets.UTF_8));
        }
        for (Path file : List.of(write("array.json", array), write("lines.json", lines), gz)) {
            List<String> seen = new ArrayList<>();
            new TextFile(file.toString(), "t", "s", 2).forEachRecord((i, text, label) -> seen.add(i + text + label));
            assertEquals(List.of("0first0", "1second1"), seen, file.toString());
        }
    }

    @Test
    void malformedFilesAndRecordsNameTheFileTheRecordAndTheValue() throws IOException {
        assertBad(write("truncated.json", "[{\"t\": \"one\", \"s\": 0}, {\"t\": \"tw"),
                "truncated.json: record 1 is not valid JSON (line 1, column ");
        assertBad(write("unclosed.json", "[{\"t\": \"one\", \"s\": 0}"),
                "unclosed.json: record 1 is not valid JSON (line 1, column 22): Unexpected end-of-input");
        Path latin1 = dir.resolve("latin1.json");
        Files.write(latin1, "[{\"t\": \"caf\u00e9\", \"s\": 0}]".getBytes(StandardCharsets.ISO_8859_1));
        assertBad(latin1, "latin1.json: record 0 is not valid JSON (line 1, column ");
        assertBad(write("range.json", "[{\"t\": \"a\", \"s\": 0}, {\"t\": \"b\", \"s\": 2}]"),
                "range.json: record 1 has label 2, not in [0, 1] (data.classes = 2)");
        assertBad(write("nolabel.json", "{\"t\": \"a\", \"label\": 1}"),
                "nolabel.json: record 0 has no integral label field 's'; its fields: [t, label]");
        assertBad(write("fraction.json", "{\"t\": \"a\", \"s\": 0.5}"),
                "fraction.json: record 0 has no integral label field 's' (found 0.5); its fields: [t, s]");
        assertBad(write("notext.json", "{\"text\": \"a\", \"s\": 1}"),
                "notext.json: record 0 has no text field 't'; its fields: [text, s]");
        assertBad(write("number.json", "[3]"), "number.json: record 0 is not a JSON object but VALUE_NUMBER_INT");
    }

    @Test
    void skippingBadRecordsKeepsTheGoodOnesOfTheSameFile() throws IOException {
        Path file = write("mixed.json", "[{\"t\": \"good one\", \"s\": 0}, {\"t\": \"bad\", \"s\": 7}, 3, "
                + "{\"s\": 1}, {\"t\": \"good two\", \"s\": 1}]");
        TextFile text = new TextFile(file.toString(), "t", "s", 2);
        assertEquals(5, text.count(new BadRecords(true)), "every record has its slot, bad ones too");
        TextDataSource.Pair pair = TextDataSource.split(text, text, 0, 0, 3, 100, 1, new BadRecords(true));
        List<ExampleBlock> blocks = pair.train().load(SPARK.sc(), 2, 1).collect();
        List<String> kept = new ArrayList<>();
        for (ExampleBlock b : blocks) {
            for (int r = 0; r < b.size(); r++) {
                int[] ids = new int[3];
                for (int t = 0; t < 3; t++) {
                    ids[t] = (int) b.feature(r * 3 + t);
                }
                kept.add(pair.train().vocabulary().decode(ids) + "/" + b.labels()[r]);
            }
        }
        assertEquals(List.of("good one/0", "good two/1"), kept.stream().sorted().toList());
        assertThrows(DataFormatException.class, () -> text.count(BadRecords.FAIL));
    }

    private void assertBad(Path file, String messageStart) {
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> new TextFile(file.toString(), "t", "s", 2).count(BadRecords.FAIL));
        assertTrue(e.getMessage().startsWith(file.getParent() + "/" + messageStart), e.getMessage());
    }

    @Test
    void aHoldoutSplitIsDisjointCompleteAndItsVocabularyComesFromTheTrainingPartOnly() throws IOException {
        int n = 101;
        TextDataSource.Pair pair = TextDataSource.split(numbered(n), null, 0.3, 0, LENGTH, 1000, 7, BadRecords.FAIL);
        assertEquals(30, pair.test().examples());
        assertEquals(71, pair.train().examples());
        assertEquals(LENGTH, pair.train().inputShape().width());

        List<Integer> train = records(pair.train(), 2);
        List<Integer> test = records(pair.test(), 3);
        Set<Integer> all = new HashSet<>(train);
        all.addAll(test);
        assertEquals(train.size() + test.size(), all.size(), "a record in both sets");
        assertEquals(n, all.size());
        // Padding, unknown, the ten digit words and the training records' own words; no test record's word.
        assertEquals(2 + 10 + 71, pair.train().vocabulary().size());
        // The same seed splits and places alike; a limit takes a part of the same training set.
        assertEquals(train, records(TextDataSource.split(numbered(n), null, 0.3, 0, LENGTH, 1000, 7, BadRecords.FAIL).train(), 2));
        List<Integer> limited = records(TextDataSource.split(numbered(n), null, 0.3, 20, LENGTH, 1000, 7, BadRecords.FAIL).train(), 2);
        assertEquals(20, limited.size());
        assertTrue(train.containsAll(limited));
    }

    @Test
    void aSeparateTestFileIsTakenWhole() throws IOException {
        TextDataSource.Pair pair = TextDataSource.split(numbered(10), numbered(6), 0.5, 0, LENGTH, 1000, 7, BadRecords.FAIL);
        assertEquals(10, pair.train().examples());
        assertEquals(6, pair.test().examples());
        assertEquals(List.of(0, 1, 2, 3, 4, 5), records(pair.test(), 2).stream().sorted().toList());
    }

    /**
     * Loads {@code source} on local Spark in balanced blocks and returns the record number of every example, read
     * back from its digit words; checks each example's padding, label and own word (known in training sets only).
     */
    private static List<Integer> records(TextDataSource source, int partitions) {
        List<ExampleBlock> blocks = source.load(SPARK.sc(), partitions, 11).collect();
        assertEquals(partitions, blocks.size());
        Slots slots = source.slots();
        boolean training = slots.from() > 0 || slots.examples() == slots.records();
        List<Integer> records = new ArrayList<>();
        for (ExampleBlock b : blocks) {
            assertTrue(Math.abs(b.size() - source.examples() / (double) partitions) < 1, "unbalanced: " + b.size());
            for (int r = 0; r < b.size(); r++) {
                int[] ids = new int[LENGTH];
                for (int t = 0; t < LENGTH; t++) {
                    ids[t] = (int) b.feature(r * LENGTH + t);
                }
                assertEquals(Vocabulary.PADDING, ids[0], "padded in front");
                int record = Integer.parseInt(source.vocabulary().decode(java.util.Arrays.copyOfRange(ids, 2, 5))
                        .replace("d", "").replace(" ", ""));
                assertEquals(record % 2, b.labels()[r]);
                assertEquals(training, ids[1] != Vocabulary.UNKNOWN, "own word of record " + record);
                records.add(record);
            }
        }
        return records;
    }

    /** Records "wN dA dB dC" (N's own word, then its three digits), labelled N mod 2. */
    private TextFile numbered(int n) throws IOException {
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            String digits = String.format("%03d", i).replaceAll("(\\d)", " d$1");
            json.append(i == 0 ? "" : ",").append("{\"t\": \"w").append(i).append(digits)
                    .append("\", \"s\": ").append(i % 2).append('}');
        }
        return new TextFile(write("numbered" + n + ".json", json.append(']').toString()).toString(), "t", "s", 2);
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }
}
