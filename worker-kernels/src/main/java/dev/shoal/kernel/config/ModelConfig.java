package dev.shoal.kernel.config;

import java.util.List;

/**
 * The {@code model} section of a job file: which network to build and its hyperparameters.
 * Input and output sizes are not configured here: they come from the data.
 */
public record ModelConfig(
        @Key(doc = "Model family from the built-in zoo: mlp (dense layers) or lenet (conv 5x5 x20, max-pool 2, "
                + "conv 5x5 x50, max-pool 2, then dense layers; needs images).") ModelType type,
        @Key(doc = "Sizes of the hidden dense layers, input side first (for lenet: after the convolutions).",
                defaultValue = "[256, 128]") List<Integer> hidden,
        @Key(doc = "Activation of the hidden layers: relu, leakyrelu, elu, tanh, sigmoid, identity.",
                defaultValue = "relu") Activation activation,
        @Key(doc = "Weight initialisation: xavier or relu (He).", defaultValue = "relu") WeightInit weightInit,
        @Key(doc = "Fraction of each hidden layer's inputs dropped in training, in [0, 1); 0 turns dropout off.",
                defaultValue = "0") double dropout,
        @Key(doc = "L1 weight penalty; 0 turns it off.", defaultValue = "0") double l1,
        @Key(doc = "L2 weight penalty; 0 turns it off.", defaultValue = "0") double l2,
        @Key(doc = "Loss: mcxent (softmax cross-entropy) or mse.", defaultValue = "mcxent") Loss loss) {

    public ModelConfig {
        hidden = Checks.positiveSizes("hidden", hidden);
        Checks.fraction("dropout", dropout);
        Checks.nonNegative("l1", l1);
        Checks.nonNegative("l2", l2);
    }
}
