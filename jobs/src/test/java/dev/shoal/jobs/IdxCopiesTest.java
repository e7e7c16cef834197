package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.testing.IdxFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The larger copies of a job's data that shoal bench-load times. */
class IdxCopiesTest {
    @TempDir
    Path dir;

    @Test
    void aRepeatedIdxFileHoldsItsRecordsThatManyTimesInOrder() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 50, 10, 3);
        Path images = dir.resolve("images-x3.idx");
        Path labels = dir.resolve("labels-x3.idx");
        IdxCopies.repeatIdx(files.trainImages(), 3, images);
        IdxCopies.repeatIdx(files.trainLabels(), 3, labels);

        IdxFile one = IdxFile.open(files.trainImages());
        IdxFile three = IdxFile.open(images.toString());
        int[] dimensions = one.dimensions().clone();
        dimensions[0] = 150;
        assertArrayEquals(dimensions, three.dimensions());
        int size = one.recordSize();
        float[] pixels = one.readScaled(0, 50);
        float[] copies = three.readScaled(0, 150);
        int[] y = IdxFile.open(files.trainLabels()).readLabels(0, 50);
        int[] yCopies = IdxFile.open(labels.toString()).readLabels(0, 150);
        for (int c = 0; c < 3; c++) {
            assertArrayEquals(pixels, Arrays.copyOfRange(copies, c * 50 * size, (c + 1) * 50 * size), "copy " + c);
            assertArrayEquals(y, Arrays.copyOfRange(yCopies, c * 50, (c + 1) * 50), "copy " + c);
        }
    }
}
