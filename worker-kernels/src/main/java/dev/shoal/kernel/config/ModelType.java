package dev.shoal.kernel.config;

import dev.shoal.kernel.Target;
import java.util.Locale;

/** The built-in model families. Each ends in the hidden dense layers and the output layer. */
public enum ModelType {
    /** Fully connected layers only. */
    MLP,
    /** LeNet-style CNN for images: conv 5x5 x20, max-pool 2x2, conv 5x5 x50, max-pool 2x2. */
    LENET,
    /**
     * The classic Keras CIFAR-10 CNN's shape for colour images: per entry of {@code filters}, a 3x3 convolution
     * ('same' padding) followed by 2x2 max pooling.
     */
    CNN,
    /** Text classifier over token sequences: an embedding, an LSTM, and the LSTM's output at the last step. */
    LSTM_CLASSIFIER,
    /** Text classifier over token sequences: an embedding, multi-head self-attention, then max pooling over time. */
    ATTENTION_CLASSIFIER,
    /**
     * Self-supervised: dense encoder layers ({@code hidden}, the last one the code), the mirrored decoder, and a
     * sigmoid output layer that reconstructs the input under the mean squared error; labels are not read.
     */
    AUTOENCODER,
    /**
     * Character-level language model: an embedding, LSTM layers ({@code hidden}), and a softmax over the
     * alphabet at every step, predicting each next character.
     */
    CHAR_LSTM,
    /**
     * A generative adversarial network for images: a generator (dense layers {@code hidden} from {@code units}
     * noise values to a sigmoid image) and a discriminator (the mirrored dense layers down to one sigmoid unit),
     * trained against each other; labels are not read.
     */
    GAN,
    /**
     * A saved model ({@code model.base}: a DL4J model.zip or a Keras HDF5 file) with its first
     * {@code model.freeze} layers frozen and a new output layer;
     * built by {@link dev.shoal.kernel.NetworkFiles}, not from the other model keys.
     */
    FINE_TUNE,
    /**
     * Any DL4J MultiLayerConfiguration, from the JSON file in {@code model.json} (as DL4J's {@code toJson} writes
     * it), with its own layers, updater and settings; the other model keys and the optimizer section are not read.
     */
    DL4J_JSON,
    /**
     * A Keras Sequential classifier saved as HDF5 ({@code model.keras}), with its trained weights, trained further
     * with the plan's optimizer; built by {@link dev.shoal.kernel.NetworkFiles}, not from the other model keys.
     */
    KERAS;

    /** Whether the network comes from a file rather than from the zoo. */
    public boolean fromFile() {
        return this == FINE_TUNE || this == DL4J_JSON || this == KERAS;
    }

    /** Whether the family reads token ids (and needs sequence data). */
    public boolean readsTokens() {
        return this == LSTM_CLASSIFIER || this == ATTENTION_CLASSIFIER || this == CHAR_LSTM;
    }

    /** The name a job file gives the family: lstm-classifier for LSTM_CLASSIFIER. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** What the family learns to output. */
    public Target target() {
        return switch (this) {
            case AUTOENCODER -> Target.FEATURES;
            case CHAR_LSTM -> Target.NEXT_TOKENS;
            case GAN -> Target.IMAGES;
            default -> Target.CLASS;
        };
    }
}
