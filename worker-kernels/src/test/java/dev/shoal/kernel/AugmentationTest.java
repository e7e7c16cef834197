package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.shoal.kernel.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Mirrors and shifts of training images: exact pixel moves, every channel alike, the same draws for a seed. */
class AugmentationTest {
    private static final InputShape SHAPE = new InputShape(3, 4, 2);

    /** Pixel values 1..24: channel c, row r, column k holds 1 + c*12 + r*4 + k. */
    private static float[] image() {
        float[] x = new float[24];
        for (int i = 0; i < 24; i++) {
            x[i] = i + 1;
        }
        return x;
    }

    @Test
    void aMirrorReversesEveryRowOfEveryChannel() {
        float[] x = image();
        new Augmentation(true, 0, SHAPE).transform(x, 0, true, 0, 0);
        assertArrayEquals(new float[] {4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17, 24, 23,
            22, 21}, x);
    }

    @Test
    void aShiftMovesPixelsAndFillsTheBorderWithZeros() {
        float[] x = image();
        // One row down, two columns left.
        new Augmentation(false, 2, SHAPE).transform(x, 0, false, 1, -2);
        assertArrayEquals(new float[] {0, 0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0, 0, 0, 0, 0, 15, 16, 0, 0, 19, 20, 0, 0},
                x);
    }

    @Test
    void theSameSeedDrawsTheSameImagesAndNoAugmentationLeavesBatchesAlone() {
        Augmentation augmentation = new Augmentation(true, 1, SHAPE);
        List<float[]> first = features(augmentation.apply(batches(), 7));
        assertEquals(first.stream().map(Arrays::toString).toList(),
                features(augmentation.apply(batches(), 7)).stream().map(Arrays::toString).toList());
        assertFalse(Arrays.equals(first.get(0), features(augmentation.apply(batches(), 8)).get(0)),
                "another seed, other draws");
        assertFalse(Arrays.equals(first.get(0), batches().next().features()), "the images changed");

        Iterator<MiniBatch> plain = batches();
        assertSame(plain, Augmentation.none(SHAPE).apply(plain, 7));
    }

    @Test
    void onlyImagesCanBeAugmented() {
        assertEquals("training.augment = flip: needs images, but the examples are 24", assertThrows(
                ConfigException.class, () -> new Augmentation(true, 0, InputShape.vector(24))).getMessage());
    }

    /** Two batches of eight copies of {@link #image()}. */
    private static Iterator<MiniBatch> batches() {
        float[] x = new float[16 * 24];
        for (int i = 0; i < 16; i++) {
            System.arraycopy(image(), 0, x, i * 24, 24);
        }
        return new ExampleBlock(x, new int[16], 24, 2).inOrder(8);
    }

    private static List<float[]> features(Iterator<MiniBatch> batches) {
        List<float[]> out = new ArrayList<>();
        batches.forEachRemaining(b -> out.add(b.features()));
        return out;
    }
}
