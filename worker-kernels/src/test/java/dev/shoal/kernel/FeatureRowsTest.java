package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FeatureRowsTest {

    /** Bit patterns, so that -0.0 and 0.0, and NaNs, compare as what they are. */
    private static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    @Test
    void pixelsReadFromBytesAreStoredAsBytesAndReadBackBitForBit() {
        Random random = new Random(7);
        float[] pixels = new float[300 * 784];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = random.nextInt(256) / 255f;
        }
        FeatureRows rows = FeatureRows.of(pixels.clone(), 784);
        assertTrue(rows.coded());
        assertEquals(pixels.length + 256 * 4L, rows.bytes());
        assertArrayEquals(bits(pixels), bits(rows.toArray()));
        float[] row = new float[784 + 3];
        rows.copyRow(123, row, 3);
        for (int j = 0; j < 784; j++) {
            assertEquals(Float.floatToRawIntBits(pixels[123 * 784 + j]), Float.floatToRawIntBits(row[3 + j]));
            assertEquals(Float.floatToRawIntBits(pixels[123 * 784 + j]),
                    Float.floatToRawIntBits(rows.get(123, j)));
        }
    }

    @Test
    void exactly256ValuesAreCodedIncludingSignedZerosAndNaN() {
        float[] values = new float[2 * 256];
        for (int i = 0; i < 253; i++) {
            values[i] = -1000f + i * 7.25f;
        }
        values[253] = 0f;
        values[254] = -0f;
        values[255] = Float.NaN;
        System.arraycopy(values, 0, values, 256, 256);
        FeatureRows rows = FeatureRows.of(values.clone(), 4);
        assertTrue(rows.coded());
        assertEquals(128, rows.rows());
        assertArrayEquals(bits(values), bits(rows.toArray()));
    }

    @Test
    void moreThan256DistinctValuesStayFloats() {
        float[] values = new float[257 * 3];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i % 257) * 0.5f;
        }
        FeatureRows rows = FeatureRows.of(values.clone(), 3);
        assertFalse(rows.coded());
        assertEquals(4L * values.length, rows.bytes());
        assertArrayEquals(values, rows.toArray());
    }

    /** The 257th distinct value far into the block, after long runs of one value: beyond any first look. */
    @Test
    void aLate257thValueStillKeepsTheBlockAsFloats() {
        float[] values = new float[200_000];
        for (int i = 150_000; i < values.length; i++) {
            values[i] = (i % 300) / 7f;
        }
        FeatureRows late = FeatureRows.of(values.clone(), 100);
        assertFalse(late.coded());
        assertArrayEquals(bits(values), bits(late.toArray()));

        float[] fewer = values.clone();
        for (int i = 0; i < fewer.length; i++) {
            fewer[i] = i % 256 == 0 ? -0f : i < 150_000 ? 0 : i % 5; // runs, repeats, a signed zero: 6 values
        }
        FeatureRows coded = FeatureRows.of(fewer.clone(), 100);
        assertTrue(coded.coded());
        assertArrayEquals(bits(fewer), bits(coded.toArray()));
    }

    @Test
    void valuesThatDoNotMakeWholeRowsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> FeatureRows.of(new float[10], 3));
    }

    @Test
    void aBlockOfPixelsGivesTheSameMinibatchesAsItsFloats() {
        Random random = new Random(11);
        float[] pixels = new float[50 * 6];
        int[] labels = new int[50];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = random.nextInt(256) / 255f;
        }
        for (int r = 0; r < labels.length; r++) {
            labels[r] = random.nextInt(3);
        }
        ExampleBlock block = new ExampleBlock(pixels.clone(), labels, 6, 3);
        assertTrue(block.featureRows().coded());
        int[] order = Shuffle.permutation(50, 99);
        var batches = block.batches(99, 8, 0, block.batchCount(8));
        for (int b = 0; batches.hasNext(); b++) {
            MiniBatch batch = batches.next();
            for (int r = 0; r < batch.rows(); r++) {
                int row = order[b * 8 + r];
                for (int j = 0; j < 6; j++) {
                    assertEquals(pixels[row * 6 + j], batch.features()[r * 6 + j], 0f);
                }
                assertEquals(labels[row], batch.labels()[r]);
            }
        }
    }

    /**
     * Parts coded each on its own, with tables of their own, put together in an order of rows of their own: the
     * block holds every value bit for bit where its row was sent, coded exactly when coding the block's floats
     * would code it.
     */
    @Test
    void gatheredPartsAreTheBlockOfTheirRowsCodedWhenTheirValuesAllow() {
        Random random = new Random(5);
        int width = 7;
        int rows = 90;
        for (int distinct : new int[] {3, 256, 257}) {
            float[] values = new float[distinct];
            for (int v = 0; v < distinct; v++) {
                values[v] = v == 0 ? -0f : v == 1 ? Float.NaN : v * 0.37f;
            }
            float[] block = new float[rows * width];
            for (int i = 0; i < block.length; i++) {
                block[i] = values[i < distinct ? i : random.nextInt(distinct)]; // every value once at least
            }
            int[] order = Shuffle.permutation(rows, distinct);
            List<FeatureRows> parts = new ArrayList<>();
            List<int[]> rowsAt = new ArrayList<>();
            for (int from = 0; from < rows; from += 20) { // parts of 20, 20, 20, 20, 10 rows, sent to shuffled rows
                int size = Math.min(20, rows - from);
                float[] part = new float[size * width];
                int[] at = new int[size];
                for (int i = 0; i < size; i++) {
                    at[i] = order[from + i];
                    System.arraycopy(block, at[i] * width, part, i * width, width);
                }
                parts.add(FeatureRows.of(part, width));
                rowsAt.add(at);
            }
            parts.add(FeatureRows.of(new float[0], width)); // a part with no rows (its every row was bad)
            rowsAt.add(new int[0]);
            FeatureRows gathered = FeatureRows.gather(width, rows, parts, rowsAt);
            assertEquals(FeatureRows.of(block.clone(), width).coded(), gathered.coded(), distinct + " values");
            assertEquals(distinct <= 256, gathered.coded(), distinct + " values");
            assertArrayEquals(bits(block), bits(gathered.toArray()), distinct + " values");
        }
    }

    /** One part of floats (more than 256 values in it) leaves the block as floats, as coding its floats would. */
    @Test
    void aPartOfFloatsKeepsTheGatheredBlockAsFloats() {
        float[] floats = new float[300];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = i / 3f;
        }
        FeatureRows coded = FeatureRows.of(new float[] {1, 2, 3}, 3);
        FeatureRows gathered = FeatureRows.gather(3, 101, List.of(FeatureRows.of(floats.clone(), 3), coded),
                List.of(java.util.stream.IntStream.rangeClosed(1, 100).toArray(), new int[] {0}));
        assertFalse(gathered.coded());
        float[] expected = new float[303];
        System.arraycopy(new float[] {1, 2, 3}, 0, expected, 0, 3);
        System.arraycopy(floats, 0, expected, 3, 300);
        assertArrayEquals(expected, gathered.toArray());
        assertThrows(IllegalArgumentException.class, () -> FeatureRows.gather(3, 2, List.of(coded),
                List.of(new int[] {0})), "one row given for two");
        assertThrows(IllegalArgumentException.class, () -> FeatureRows.gather(4, 1, List.of(coded),
                List.of(new int[] {0})), "rows of 3 values for rows of 4");
    }

    /** Serialized and read back (Spark's shuffle), coded or not, every value bit for bit. */
    @Test
    void serializedRowsReadBackBitForBit() throws IOException, ClassNotFoundException {
        float[] few = {0f, -0f, Float.NaN, 1f / 255, Float.NEGATIVE_INFINITY, 0f};
        float[] many = new float[600];
        for (int i = 0; i < many.length; i++) {
            many[i] = i == 7 ? -0f : (float) Math.sin(i);
        }
        for (float[] values : List.of(few, many)) {
            FeatureRows rows = FeatureRows.of(values.clone(), 3);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(rows);
            }
            FeatureRows read;
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                read = (FeatureRows) in.readObject();
            }
            assertEquals(values == few, read.coded());
            assertEquals(values.length / 3, read.rows());
            assertArrayEquals(bits(values), bits(read.toArray()));
        }
    }
}
