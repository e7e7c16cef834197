package dev.shoal.driver.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdxDataSourceTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    @TempDir
    Path dir;

    private Path images() {
        return dir.resolve("images");
    }

    private Path labels() {
        return dir.resolve("labels");
    }

    /** Writes an images file and a labels file into the test's folder. */
    private void write(byte[][] images, byte[] labels, boolean gzip) throws IOException {
        IdxFixtures.writeImages(images(), images, gzip);
        IdxFixtures.writeLabels(labels(), labels, gzip);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void everyExampleLandsInExactlyOnePartitionAndPartitionsAreBalanced(boolean gzip) throws IOException {
        IdxFixtures.Examples data = IdxFixtures.synthetic(1001, 3);
        write(data.images(), data.labels(), gzip);

        IdxDataSource source = IdxDataSource.open(images().toString(), labels().toString(), 10);
        List<ExampleBlock> blocks = source.load(SPARK.sc(), 3, 99).collect();

        assertEquals(3, blocks.size());
        int min = blocks.stream().mapToInt(ExampleBlock::size).min().orElseThrow();
        int max = blocks.stream().mapToInt(ExampleBlock::size).max().orElseThrow();
        assertTrue(max - min <= 1, "sizes " + min + ".." + max);
        assertEquals((1001 + 2) / 3, max, "the largest block rounds up");
        // Each source image, identified by its bytes, appears exactly once with its own label.
        assertEquals(counts(data, 1001), counts(blocks));
    }

    @Test
    void firstNKeepsExactlyTheFirstNExamples() throws IOException {
        IdxFixtures.Examples data = IdxFixtures.synthetic(1001, 5);
        write(data.images(), data.labels(), true);

        IdxDataSource all = IdxDataSource.open(images().toString(), labels().toString(), 10);
        IdxDataSource source = all.first(300);
        List<ExampleBlock> blocks = source.load(SPARK.sc(), 2, 7).collect();

        assertEquals(300, source.examples());
        assertEquals(List.of(150, 150), blocks.stream().map(ExampleBlock::size).toList());
        assertEquals(counts(data, 300), counts(blocks));
        assertEquals(counts(data, 300), counts(List.of(source.readAll(7))));
        assertEquals(1001, all.first(5000).examples(), "a limit above the file's size keeps every example");
    }

    /** How often each (image bytes, label) pair occurs among the first {@code n} examples of {@code data}. */
    private static Map<String, Integer> counts(IdxFixtures.Examples data, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(key(data.images()[i]) + "/" + data.labels()[i], 1, Integer::sum);
        }
        return counts;
    }

    /** The same count over loaded blocks, with pixels scaled back to bytes. */
    private static Map<String, Integer> counts(List<ExampleBlock> blocks) {
        Map<String, Integer> counts = new HashMap<>();
        for (ExampleBlock b : blocks) {
            for (int r = 0; r < b.size(); r++) {
                byte[] pixels = new byte[b.featureSize()];
                for (int f = 0; f < pixels.length; f++) {
                    pixels[f] = (byte) Math.round(b.feature(r * b.featureSize() + f) * 255);
                }
                counts.merge(key(pixels) + "/" + b.labels()[r], 1, Integer::sum);
            }
        }
        return counts;
    }

    @Test
    void placementFollowsTheSeed() throws IOException {
        IdxFixtures.Examples data = IdxFixtures.synthetic(200, 4);
        write(data.images(), data.labels(), false);
        IdxDataSource source = IdxDataSource.open(images().toString(), labels().toString(), 10);

        int[] a = source.load(SPARK.sc(), 2, 7).collect().get(0).labels();
        int[] b = source.load(SPARK.sc(), 2, 7).collect().get(0).labels();
        int[] c = source.load(SPARK.sc(), 2, 8).collect().get(0).labels();
        assertArrayEquals(a, b);
        assertNotEquals(list(a), list(c));
    }

    @Test
    void wrongMagicNumberIsNamed() throws IOException {
        Path bad = dir.resolve("bad");
        Files.write(bad, new byte[] {0x50, 0x4b, 3, 4, 0, 0, 0, 1});
        var e = assertThrows(DataFormatException.class, () -> IdxFile.open(bad.toString()));
        assertTrue(e.getMessage().startsWith(bad + ": not an IDX file: magic number is 0x504b0304"), e.getMessage());
    }

    @Test
    void truncatedFileNamesTheRecord() throws IOException {
        IdxFixtures.Examples data = IdxFixtures.synthetic(10, 5);
        Path images = dir.resolve("images");
        IdxFixtures.writeImages(images, data.images(), false);
        byte[] bytes = Files.readAllBytes(images);
        Files.write(images, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        IdxFile file = IdxFile.open(images.toString());
        var e = assertThrows(DataFormatException.class, () -> file.forEachRecord((i, v) -> { }));
        assertEquals(images + ": file ends inside record 9 of the 10 its header declares", e.getMessage());
    }

    @Test
    void labelOutOfRangeNamesFileRecordAndValue() throws IOException {
        IdxFixtures.Examples data = IdxFixtures.synthetic(50, 6);
        data.labels()[31] = 12;
        write(data.images(), data.labels(), false);
        IdxDataSource source = IdxDataSource.open(images().toString(), labels().toString(), 10);
        var e = assertThrows(DataFormatException.class, () -> source.readBlock(0, 1, 1));
        assertEquals("labels must be in [0, 9], but got 12 at " + labels() + " record 31", e.getMessage());

        // Skipping bad records: the two blocks hold the 49 others, each once.
        List<ExampleBlock> blocks = source.with(new BadRecords(true)).load(SPARK.sc(), 2, 1).collect();
        assertEquals(49, blocks.stream().mapToInt(ExampleBlock::size).sum());
        data.labels()[31] = 0;
        Map<String, Integer> expected = counts(data, 50);
        expected.merge(key(data.images()[31]) + "/0", -1, Integer::sum);
        expected.values().removeIf(v -> v == 0);
        assertEquals(expected, counts(blocks));
    }

    @Test
    void imageAndLabelCountsMustAgree() throws IOException {
        IdxFixtures.Examples data = IdxFixtures.synthetic(20, 7);
        write(data.images(), java.util.Arrays.copyOf(data.labels(), 19), false);
        var e = assertThrows(DataFormatException.class,
                () -> IdxDataSource.open(images().toString(), labels().toString(), 10));
        assertEquals(images() + " holds 20 images but " + labels() + " holds 19 labels", e.getMessage());
    }

    @Test
    void labelsFileMustHaveRankOne() throws IOException {
        IdxFixtures.Examples data = IdxFixtures.synthetic(20, 8);
        Path images = dir.resolve("images");
        IdxFixtures.writeImages(images, data.images(), false);
        var e = assertThrows(DataFormatException.class,
                () -> IdxDataSource.open(images.toString(), images.toString(), 10));
        assertTrue(e.getMessage().contains("labels must have rank 1, but the header has rank 3"), e.getMessage());
    }

    private static String key(byte[] pixels) {
        return java.util.Base64.getEncoder().encodeToString(pixels);
    }

    private static List<Integer> list(int[] a) {
        List<Integer> out = new ArrayList<>();
        for (int v : a) {
            out.add(v);
        }
        return out;
    }
}
