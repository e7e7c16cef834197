package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
