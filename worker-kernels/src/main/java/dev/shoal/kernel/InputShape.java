package dev.shoal.kernel;

import java.io.Serializable;

/**
 * The shape of one example's features as the data gives it: an image of {@code height x width x channels}
 * (flattened channel by channel, row by row), a plain vector ({@link #vector}: 1 x size x 1), or a sequence of
 * token ids ({@link #sequence}: 1 x length x 1, each value an integer in [0, vocabulary)).
 *
 * @param vocabulary for a token sequence, the number of distinct token ids; 0 for numeric features
 */
public record InputShape(int height, int width, int channels, int vocabulary) implements Serializable {

    public InputShape {
        if (height < 1 || width < 1 || channels < 1 || vocabulary < 0) {
            throw new IllegalArgumentException("input shape must be positive, got " + height + "x" + width + "x"
                    + channels + " (vocabulary " + vocabulary + ")");
        }
    }

    /** Numeric features of this shape. */
    public InputShape(int height, int width, int channels) {
        this(height, width, channels, 0);
    }

    public static InputShape vector(int size) {
        return new InputShape(1, size, 1);
    }

    /** {@code length} token ids per example, each in [0, vocabulary). */
    public static InputShape sequence(int length, int vocabulary) {
        return new InputShape(1, length, 1, vocabulary);
    }

    /** Features per example. */
    public int size() {
        return height * width * channels;
    }

    public boolean isImage() {
        return height > 1;
    }

    public boolean isSequence() {
        return vocabulary > 0;
    }

    @Override
    public String toString() {
        if (isSequence()) {
            return "sequences of " + width + " tokens";
        }
        return isImage() ? height + "x" + width + "x" + channels : Integer.toString(size());
    }
}
