package dev.shoal.kernel;

import java.io.Serializable;

/**
 * The shape of one example's features as the data gives it: an image of {@code height x width x channels}
 * (flattened channel by channel, row by row), or a plain vector ({@link #vector}: 1 x size x 1).
 */
public record InputShape(int height, int width, int channels) implements Serializable {

    public InputShape {
        if (height < 1 || width < 1 || channels < 1) {
            throw new IllegalArgumentException("input shape must be positive, got " + height + "x" + width + "x"
                    + channels);
        }
    }

    public static InputShape vector(int size) {
        return new InputShape(1, size, 1);
    }

    /** Features per example. */
    public int size() {
        return height * width * channels;
    }

    public boolean isImage() {
        return height > 1;
    }

    @Override
    public String toString() {
        return isImage() ? height + "x" + width + "x" + channels : Integer.toString(size());
    }
}
