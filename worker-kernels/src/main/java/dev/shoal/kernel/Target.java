package dev.shoal.kernel;

/** What a network learns to output for an example, which decides its labels and how it is scored. */
public enum Target {
    /** The example's class: one-hot labels; scored by accuracy. */
    CLASS,
    /** The example's own features, as an autoencoder reconstructs them; scored by the loss alone. */
    FEATURES,
    /**
     * The next token at every step of a sequence: an example holds {@code length + 1} token ids, the network reads
     * the first {@code length} and learns each following one as a class (the block's classes are the tokens);
     * scored by the share of steps whose next token it predicts.
     */
    NEXT_TOKENS,
    /**
     * Images like the examples, made by a generator that a discriminator learns to tell from real ones (a GAN);
     * scored by the discriminator's loss.
     */
    IMAGES;

    /** Whether a prediction can be right or wrong, so that accuracy means something. */
    public boolean hasAccuracy() {
        return this == CLASS || this == NEXT_TOKENS;
    }
}
