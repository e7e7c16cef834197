package dev.shoal.driver.plan;

/** How gradient sharing puts a gradient on the wire. */
public enum GradientEncoding {
    /** Entries above an adaptive threshold, as ±threshold; the rest carried to the next step. */
    THRESHOLD,
    /** Every value; summed with a ring all-reduce. */
    DENSE
}
