package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.Key;

/** The {@code training} section: how long and in what pieces. */
public record TrainingConfig(
        @Key(doc = "Passes over the training set.", defaultValue = "10") int epochs,
        @Key(doc = "Examples per minibatch on each worker.", defaultValue = "128") int batchSize,
        @Key(doc = "Seed of weight initialisation, data placement and per-epoch shuffles.",
                defaultValue = "42") long seed,
        @Key(doc = "Stop when the held-out metric stops improving.", defaultValue = "{}")
        EarlyStoppingConfig earlyStopping,
        @Key(doc = "Random changes to training images (image data only).", defaultValue = "{}")
        AugmentConfig augment,
        @Key(doc = "A saved model.zip of this very network to start from: its parameters, a fresh optimizer state "
                + "(shoal retrain --warm-start sets it to the champion's); empty starts from the seed.",
                defaultValue = "''", path = true) String warmStart) {

    public TrainingConfig {
        Checks.atLeast("epochs", epochs, 1);
        Checks.atLeast("batch-size", batchSize, 1);
    }

    /** A plan that starts from the seed. */
    public TrainingConfig(int epochs, int batchSize, long seed, EarlyStoppingConfig earlyStopping,
                          AugmentConfig augment) {
        this(epochs, batchSize, seed, earlyStopping, augment, "");
    }
}
