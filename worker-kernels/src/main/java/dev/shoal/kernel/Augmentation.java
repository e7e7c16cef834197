package dev.shoal.kernel;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.ConfigException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.SplittableRandom;

/**
 * Random changes to training images, drawn anew for every minibatch on the executor that trains it: a mirror
 * image (left to right) with probability one half, and a shift by up to {@code shift} pixels each way, the
 * uncovered border filled with zeros (a random crop of the image padded by {@code shift}). The draws follow from a
 * seed given per minibatch, so a round that runs again (a retry, a resume) sees the same images.
 *
 * @param flip  mirror half of the images
 * @param shift largest shift in pixels, vertical and horizontal; 0 for none
 * @param shape the images' shape
 */
public record Augmentation(boolean flip, int shift, InputShape shape) implements Serializable {

    /** @throws ConfigException naming {@code training.augment} when the examples are not images */
    public Augmentation {
        Checks.atLeast("augment.shift", shift, 0);
        if ((flip || shift > 0) && !shape.isImage()) {
            throw new ConfigException("training.augment", (flip ? "flip" : "") + (shift > 0 ? " shift " + shift : ""),
                    "needs images, but the examples are " + shape);
        }
    }

    /** No augmentation. */
    public static Augmentation none(InputShape shape) {
        return new Augmentation(false, 0, shape);
    }

    public boolean enabled() {
        return flip || shift > 0;
    }

    /** {@code batches} with each one's images changed by draws from {@code seed} and the batch's position. */
    public Iterator<MiniBatch> apply(Iterator<MiniBatch> batches, long seed) {
        if (!enabled()) {
            return batches;
        }
        return new Iterator<>() {
            private long index;

            @Override
            public boolean hasNext() {
                return batches.hasNext();
            }

            @Override
            public MiniBatch next() {
                MiniBatch batch = batches.next();
                SplittableRandom random = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * ++index));
                for (int r = 0; r < batch.rows(); r++) {
                    transform(batch.features(), r * shape.size(), random.nextBoolean() && flip,
                            shift == 0 ? 0 : random.nextInt(-shift, shift + 1),
                            shift == 0 ? 0 : random.nextInt(-shift, shift + 1));
                }
                return batch;
            }
        };
    }

    /** Mirrors and shifts the image at {@code offset} in place (each channel plane alike). */
    void transform(float[] x, int offset, boolean mirror, int down, int right) {
        if (!mirror && down == 0 && right == 0) {
            return;
        }
        int h = shape.height();
        int w = shape.width();
        float[] plane = new float[h * w];
        for (int c = 0; c < shape.channels(); c++) {
            int at = offset + c * h * w;
            System.arraycopy(x, at, plane, 0, h * w);
            for (int r = 0; r < h; r++) {
                for (int col = 0; col < w; col++) {
                    int sr = r - down;
                    int sc = col - right;
                    if (mirror) {
                        sc = w - 1 - sc;
                    }
                    x[at + r * w + col] = sr >= 0 && sr < h && sc >= 0 && sc < w ? plane[sr * w + sc] : 0f;
                }
            }
        }
    }
}
