package dev.shoal.kernel.config;

/** The built-in model families. */
public enum ModelType {
    /** Fully connected layers with a softmax (or identity, for mse) output layer. */
    MLP,
    /**
     * LeNet-style CNN for images: conv 5x5 x20, max-pool 2x2, conv 5x5 x50, max-pool 2x2, then the hidden
     * dense layers and the output layer.
     */
    LENET
}
