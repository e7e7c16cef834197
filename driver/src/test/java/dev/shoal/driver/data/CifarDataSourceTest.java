package dev.shoal.driver.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-10 binary files: a folder of batches into balanced blocks, and every malformed file named. */
class CifarDataSourceTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();
    private static final int PIXELS = 3072;

    @TempDir
    Path dir;

    /**
     * Writes records {@code first..first+n-1}: record i has label i mod 10, its red plane all (i mod 256), green
     * all (i / 256), blue the pixel's position mod 256.
     */
    static byte[] records(int first, int n, int classes) {
        byte[] bytes = new byte[n * (1 + PIXELS)];
        for (int r = 0; r < n; r++) {
            int i = first + r;
            int at = r * (1 + PIXELS);
            bytes[at] = (byte) (i % classes);
            for (int p = 0; p < 1024; p++) {
                bytes[at + 1 + p] = (byte) (i % 256);
                bytes[at + 1 + 1024 + p] = (byte) (i / 256);
                bytes[at + 1 + 2048 + p] = (byte) p;
            }
        }
        return bytes;
    }

    @Test
    void aFolderOfBatchesLoadsEveryRecordOnceInBalancedBlocksOfColourImages() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("cifar"));
        // Written out of name order: the files are read in name order.
        Files.write(folder.resolve("data_batch_2.bin"), records(30, 25, 10));
        Files.write(folder.resolve("data_batch_1.bin"), records(0, 30, 10));
        CifarDataSource source = CifarDataSource.open(folder.toString(), 10);
        assertEquals(55, source.examples());
        assertEquals("32x32x3", source.inputShape().toString());

        List<ExampleBlock> blocks = source.load(SPARK.sc(), 2, 3).collect();
        List<Integer> seen = new ArrayList<>();
        for (ExampleBlock b : blocks) {
            assertTrue(b.size() == 27 || b.size() == 28, "block of " + b.size());
            for (int r = 0; r < b.size(); r++) {
                int at = r * PIXELS;
                int record = Math.round(b.feature(at) * 255) + 256 * Math.round(b.feature(at + 1024) * 255);
                assertEquals(record % 10, b.labels()[r], "label of record " + record);
                assertEquals(100 / 255f, b.feature(at + 2048 + 100), "blue plane, pixel 100");
                seen.add(record);
            }
        }
        assertEquals(java.util.stream.IntStream.range(0, 55).boxed().toList(), seen.stream().sorted().toList());
        assertEquals(20, source.first(20).examples());
        Files.write(folder.resolve("test_batch.bin"), records(0, 5, 10));
        assertEquals(55, CifarDataSource.open(folder.resolve("data_batch_*.bin").toString(), 10).examples(),
                "a glob");
    }

    @Test
    void aTruncatedFileIsRefusedNamingItAndTheRecordItEndsIn() throws IOException {
        byte[] whole = records(0, 3, 10);
        Path file = dir.resolve("short.bin");
        Files.write(file, java.util.Arrays.copyOf(whole, whole.length - 100));
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> CifarDataSource.open(file.toString(), 10));
        assertTrue(e.getMessage().contains("short.bin: not CIFAR-10 binary: 9,119 bytes is not a whole number of "
                + "3,073-byte records (1 label byte, 3,072 pixel bytes); the file ends inside record 2"),
                e.getMessage());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertEquals(empty + ": no files there", assertThrows(DataFormatException.class,
                () -> CifarDataSource.open(empty.toString(), 10)).getMessage());
    }

    @Test
    void aLabelOutOfRangeFailsTheLoadNamingTheFileAndRecord() throws IOException {
        Path file = Files.write(dir.resolve("labels.bin"), records(0, 12, 12));
        CifarDataSource source = CifarDataSource.open(file.toString(), 10);
        SparkException e = assertThrows(SparkException.class, () -> source.load(SPARK.sc(), 2, 3));
        assertTrue(e.getMessage().contains("labels must be in [0, 9], but got 10 at file:" + file + " record 10"),
                e.getMessage());
    }
}
