package dev.shoal.kernel.config;

import java.util.List;

/** Range checks for record constructors; each throws a {@link ConfigException} naming the key and the value. */
public final class Checks {
    private Checks() {
    }

    public static int atLeast(String key, int value, int min) {
        if (value < min) {
            throw new ConfigException(key, value, "must be an integer >= " + min);
        }
        return value;
    }

    public static double positive(String key, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new ConfigException(key, value, "must be a finite number > 0");
        }
        return value;
    }

    public static double nonNegative(String key, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new ConfigException(key, value, "must be a finite number >= 0");
        }
        return value;
    }

    /** A value in the half-open interval [0, 1). */
    public static double fraction(String key, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new ConfigException(key, value, "must be in [0, 1)");
        }
        return value;
    }

    public static List<Integer> positiveSizes(String key, List<Integer> sizes) {
        for (int size : sizes) {
            if (size < 1) {
                throw new ConfigException(key, sizes, "every layer size must be >= 1");
            }
        }
        return List.copyOf(sizes);
    }
}
