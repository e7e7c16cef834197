package dev.shoal.kernel.config;

/** The built-in model families. */
public enum ModelType {
    /** Fully connected layers with a softmax (or identity, for mse) output layer. */
    MLP
}
