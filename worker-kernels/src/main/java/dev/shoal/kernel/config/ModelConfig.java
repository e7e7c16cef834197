package dev.shoal.kernel.config;

import java.util.List;

/**
 * The {@code model} section of a job file: which network to build and its hyperparameters.
 * Input and output sizes are not configured here: they come from the data.
 */
public record ModelConfig(
        @Key(doc = "Model family from the built-in zoo: mlp (dense layers); lenet (conv 5x5 x20, max-pool 2, "
                + "conv 5x5 x50, max-pool 2; needs images); cnn (3x3 convolutions, each followed by max-pool 2, "
                + "see filters; needs images); lstm-classifier (embedding, LSTM, last step) or "
                + "attention-classifier (embedding, self-attention, max over time), both for token sequences. "
                + "Every family ends in the hidden dense layers and the output layer. Or fine-tune: the saved "
                + "model in base, see freeze; dl4j-json: the DL4J configuration in json; or keras: the Keras "
                + "model in keras.") ModelType type,
        @Key(doc = "Sizes of the hidden dense layers, input side first (after the convolutions, the LSTM or the "
                + "attention).",
                defaultValue = "[256, 128]") List<Integer> hidden,
        @Key(doc = "Activation of the hidden layers: relu, leakyrelu, elu, tanh, sigmoid, identity.",
                defaultValue = "relu") Activation activation,
        @Key(doc = "Weight initialisation: xavier or relu (He).", defaultValue = "relu") WeightInit weightInit,
        @Key(doc = "Fraction of each hidden layer's inputs dropped in training, in [0, 1); 0 turns dropout off.",
                defaultValue = "0") double dropout,
        @Key(doc = "L1 weight penalty; 0 turns it off.", defaultValue = "0") double l1,
        @Key(doc = "L2 weight penalty; 0 turns it off.", defaultValue = "0") double l2,
        @Key(doc = "Loss: mcxent (softmax cross-entropy) or mse.", defaultValue = "mcxent") Loss loss,
        @Key(doc = "cnn: filters of each 3x3 convolution, input side first.", defaultValue = DEFAULT_FILTERS)
        List<Integer> filters,
        @Key(doc = "Text models: size of the learned vector of each token.", defaultValue = "" + DEFAULT_EMBEDDING)
        int embedding,
        @Key(doc = "Text models: units of the LSTM, or size of the attention's output.",
                defaultValue = "" + DEFAULT_UNITS) int units,
        @Key(doc = "attention-classifier: attention heads; units must be a multiple of it.",
                defaultValue = "" + DEFAULT_HEADS) int heads,
        @Key(doc = "fine-tune: the saved model to start from (a local path): a Shoal/DL4J model.zip, or a Keras "
                + "model in HDF5 as model.save(\"model.h5\") writes it.", defaultValue = "''", path = true)
        String base,
        @Key(doc = "fine-tune: how many of the base's first layers to keep, a new output layer for data.classes "
                + "following them; 0 keeps all but the base's output layer (for an autoencoder's encoder: the "
                + "number of its hidden sizes).", defaultValue = "0") int keep,
        @Key(doc = "fine-tune: how many of the kept layers keep their trained parameters; the others and the new "
                + "output layer train.", defaultValue = "0") int freeze,
        @Key(doc = "dl4j-json: a DL4J MultiLayerConfiguration as JSON (a local path); its updater and every "
                + "other setting are the file's, and its output layer must have data.classes outputs.",
                defaultValue = "''", path = true) String json,
        @Key(doc = "keras: a Keras Sequential classifier in HDF5 (a local path, as model.save(\"model.h5\") writes "
                + "it in Keras 2 and tf.keras) whose last layer is a softmax Dense of data.classes units; it trains "
                + "on from its weights under cross-entropy with the optimizer section (the file's optimizer and "
                + "loss are not read).", defaultValue = "''", path = true) String keras) {

    private static final String DEFAULT_FILTERS = "[32, 64, 64]";
    private static final int DEFAULT_EMBEDDING = 64;
    private static final int DEFAULT_UNITS = 64;
    private static final int DEFAULT_HEADS = 4;

    public ModelConfig {
        hidden = Checks.positiveSizes("hidden", hidden);
        Checks.fraction("dropout", dropout);
        Checks.nonNegative("l1", l1);
        Checks.nonNegative("l2", l2);
        filters = Checks.positiveSizes("filters", filters);
        if (filters.isEmpty()) {
            throw new ConfigException("filters", filters, "needs at least one convolution");
        }
        Checks.atLeast("embedding", embedding, 1);
        Checks.atLeast("units", units, 1);
        Checks.atLeast("heads", heads, 1);
        if (units % heads != 0) {
            throw new ConfigException("heads", heads, "must divide units (" + units + ")");
        }
        Checks.atLeast("keep", keep, 0);
        Checks.atLeast("freeze", freeze, 0);
        requiredWith("base", base, ModelType.FINE_TUNE, type);
        requiredWith("json", json, ModelType.DL4J_JSON, type);
        requiredWith("keras", keras, ModelType.KERAS, type);
    }

    /** A model of the families without convolution, text or fine-tuning settings (their defaults are taken). */
    public ModelConfig(ModelType type, List<Integer> hidden, Activation activation, WeightInit weightInit,
                       double dropout, double l1, double l2, Loss loss) {
        this(type, hidden, activation, weightInit, dropout, l1, l2, loss, List.of(32, 64, 64), DEFAULT_EMBEDDING,
                DEFAULT_UNITS, DEFAULT_HEADS, "", 0, 0, "", "");
    }

    /** The network's file, for networks from files. */
    public String file() {
        return switch (type) {
            case FINE_TUNE -> base;
            case DL4J_JSON -> json;
            case KERAS -> keras;
            default -> throw new IllegalStateException(type.configName() + " is built, not read from a file");
        };
    }

    /** The job-file key of {@link #file()}. */
    public String fileKey() {
        return "model." + switch (type) {
            case FINE_TUNE -> "base";
            case DL4J_JSON -> "json";
            case KERAS -> "keras";
            default -> throw new IllegalStateException(type.configName() + " is built, not read from a file");
        };
    }

    /** {@code value} is given exactly when the type is {@code owner}. */
    private static void requiredWith(String key, String value, ModelType owner, ModelType type) {
        if ((type == owner) == value.isEmpty()) {
            throw new ConfigException(key, value.isEmpty() ? "(missing)" : value, type == owner
                    ? "required with type " + owner.configName() : "only read with type " + owner.configName());
        }
    }
}
