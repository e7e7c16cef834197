package dev.shoal.driver.registry;

/** A figure of an evaluation that a gate rule can test, and which way is better. */
public enum GateMetric {
    ACCURACY(true),
    LOSS(false),
    MACRO_F1(true);

    private final boolean higherIsBetter;

    GateMetric(boolean higherIsBetter) {
        this.higherIsBetter = higherIsBetter;
    }

    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /** How much better {@code value} is than {@code reference}: negative when it is worse. */
    double gain(double value, double reference) {
        return higherIsBetter ? value - reference : reference - value;
    }
}
