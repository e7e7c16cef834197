package dev.shoal.driver.registry;

import dev.shoal.kernel.config.Key;

/**
 * One threshold of the gate (the job file's {@code gate.rules}). {@code at-least} and {@code at-most} bound the
 * challenger's own figure; {@code gain} and {@code relative-gain} compare it with the champion's, in the metric's
 * better direction (higher accuracy and macro F1, lower loss): gain = how much better, relative gain = gain /
 * |champion|. A negative value allows that much regression.
 */
public record GateRule(
        @Key(doc = "The figure tested: accuracy, loss or macro-f1 (F1 averaged over the classes with examples).")
        GateMetric metric,
        @Key(doc = "at-least or at-most (the challenger's value), gain or relative-gain (against the champion).")
        Kind kind,
        @Key(doc = "The threshold.") double value) {

    /** What a rule compares. */
    public enum Kind {
        AT_LEAST, AT_MOST, GAIN, RELATIVE_GAIN;

        boolean againstChampion() {
            return this == GAIN || this == RELATIVE_GAIN;
        }
    }
}
