package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.Key;

/** The {@code training.augment} section: random changes to training images, drawn per minibatch on executors. */
public record AugmentConfig(
        @Key(doc = "Mirror half of the training images, left to right.", defaultValue = "false") boolean flip,
        @Key(doc = "Shift training images by up to this many pixels each way, filling the border with zeros; 0 for "
                + "none.", defaultValue = "0") int shift) {
    /** No augmentation: the defaults. */
    public static final AugmentConfig OFF = new AugmentConfig(false, 0);

    public AugmentConfig {
        Checks.atLeast("shift", shift, 0);
    }
}
