package dev.shoal.kernel;

import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.OptimizerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.modelimport.keras.exceptions.InvalidKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Networks from files rather than from the zoo: a DL4J configuration in JSON, a Keras model, or a saved model to
 * fine-tune. Each is checked against the data before training starts, errors naming the job-file key and the file.
 *
 * <p>Fine-tuning turns a saved model into the start of a new training run (DL4J's transfer learning): its first
 * layers kept, some frozen as they were trained, a fresh softmax output layer for the new classes (all weights
 * zero) after them, and the plan's optimizer in place of the saved one (its state starts afresh). The result is
 * a standard DL4J network, saved as such.
 */
public final class NetworkFiles {
    /** The first bytes of every HDF5 file (with no user block), as Keras writes them. */
    private static final byte[] HDF5_SIGNATURE = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

    private NetworkFiles() {
    }

    /**
     * The start of a fine-tuning run from {@code base}, as {@code model} says: its first {@code model.keep()}
     * layers (0: all but its output layer), of which the first {@code model.freeze()} keep their parameters, and a
     * new softmax output layer for {@code numClasses} classes.
     *
     * @param base  the saved model ({@code model.base()}), loaded
     * @param input the new data's examples, which the base must be able to read
     * @throws ConfigException naming {@code model.keep}, {@code model.freeze} or {@code model.base} when they do
     *                         not fit the base
     */
    public static MultiLayerNetwork fineTune(ModelConfig model, MultiLayerNetwork base, OptimizerConfig optimizer,
                                             InputShape input, int numClasses, long seed) {
        int layers = base.getnLayers();
        int keep = model.keep() == 0 ? layers - 1 : model.keep();
        if (keep >= layers) {
            throw new ConfigException("model.keep", model.keep(), "must be less than the " + layers + " layers of "
                    + model.base() + ": its output layer is replaced");
        }
        if (model.freeze() > keep) {
            throw new ConfigException("model.freeze", model.freeze(), "must be at most the " + keep
                    + " layers kept of " + model.base() + ": the new output layer is trained");
        }
        requireReads(base, "model.base", model.base(), input);
        if (!(base.getLayer(keep - 1).conf().getLayer() instanceof FeedForwardLayer last)) {
            throw new ConfigException("model.keep", keep, "would end " + model.base() + " on a "
                    + base.getLayer(keep - 1).conf().getLayer().getClass().getSimpleName()
                    + "; keep up to a dense layer");
        }
        TransferLearning.Builder builder = new TransferLearning.Builder(base)
                .fineTuneConfiguration(planOptimizer(optimizer, seed))
                .removeLayersFromOutput(layers - keep)
                .addLayer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(last.getNOut())
                        .nOut(numClasses)
                        // Zero weights: the new classes start at chance rather than at confident random guesses,
                        // which the large activations of trained layers would otherwise give (loss 5.4, not 2.3,
                        // for 10 classes in the end-to-end test).
                        .activation(Activation.SOFTMAX).weightInit(WeightInit.ZERO).build());
        if (model.freeze() > 0) {
            builder.setFeatureExtractor(model.freeze() - 1);
        }
        return builder.build();
    }

    /**
     * The network that {@code json} (the content of the file at {@code path}) configures.
     *
     * @throws ConfigException naming {@code model.json} when it is not a DL4J configuration of float parameters,
     *                         cannot read the data's examples or has not {@code numClasses} outputs
     */
    public static MultiLayerConfiguration fromJson(String json, String path, InputShape input, int numClasses) {
        MultiLayerConfiguration conf;
        try {
            conf = MultiLayerConfiguration.fromJson(json);
        } catch (RuntimeException e) {
            throw new ConfigException("model.json", path, "is not a DL4J MultiLayerConfiguration in JSON: "
                    + e.getMessage());
        }
        if (conf.getDataType() != DataType.FLOAT) {
            throw new ConfigException("model.json", path, "has data type " + conf.getDataType()
                    + "; Shoal trains FLOAT networks");
        }
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        requireOutputs(net, "model.json", path, input, numClasses);
        return conf;
    }

    /**
     * The Keras classifier in {@code path} with its trained weights, ready to train further under cross-entropy
     * with the plan's optimizer (the file's own optimizer, its state and its loss are not read).
     *
     * @throws ConfigException naming {@code model.keras} when the file cannot be imported, cannot read the data's
     *                         examples or has not {@code numClasses} outputs
     */
    public static MultiLayerNetwork keras(String path, OptimizerConfig optimizer, InputShape input, int numClasses,
                                          long seed) {
        MultiLayerNetwork imported = importKeras(path, "model.keras");
        requireOutputs(imported, "model.keras", path, input, numClasses);
        TransferLearning.Builder builder = new TransferLearning.Builder(imported)
                .fineTuneConfiguration(planOptimizer(optimizer, seed));
        if (!(imported.getOutputLayer() instanceof IOutputLayer)) {
            // DL4J imports a Keras model's last Dense layer as a plain layer; the loss follows it.
            Layer last = imported.getOutputLayer().conf().getLayer();
            if (!(last instanceof BaseLayer dense && dense.getActivationFn() instanceof ActivationSoftmax)) {
                throw new ConfigException("model.keras", path, "ends in a " + last.getClass().getSimpleName()
                        + " without softmax; Shoal trains Keras classifiers whose last layer is a softmax Dense");
            }
            builder.addLayer(new LossLayer.Builder(LossFunctions.LossFunction.MCXENT)
                    .activation(Activation.IDENTITY).build());
        }
        return builder.build();
    }

    /**
     * A Keras Sequential model saved in HDF5 ({@code model.save("model.h5")} in Keras 2 and tf.keras), with its
     * weights, as a DL4J network of float parameters.
     *
     * @param key the job-file key that named the file, for errors
     * @throws ConfigException naming {@code key} when the file is not HDF5 or DL4J cannot import the model in it
     */
    public static MultiLayerNetwork importKeras(String path, String key) {
        requireHdf5(path, key);
        MultiLayerNetwork net;
        try {
            // An unreadable file is reported below, naming the key; not as HDF5's error stack on stderr too.
            org.bytedeco.hdf5.Exception.dontPrint();
            net = KerasModelImport.importKerasSequentialModelAndWeights(path, false);
        } catch (IOException | InvalidKerasConfigurationException | UnsupportedKerasConfigurationException
                 | RuntimeException e) {
            throw new ConfigException(key, path, "is not a Keras Sequential model that DL4J can import: "
                    + e.getMessage());
        }
        return net.getLayerWiseConfigurations().getDataType() == DataType.FLOAT ? net : net.convertDataType(
                DataType.FLOAT);
    }

    /**
     * Checks that the file at {@code path} is an HDF5 file, before anything is loaded.
     *
     * @throws ConfigException naming {@code key} when it is not, or cannot be read
     */
    public static void requireHdf5(String path, String key) {
        if (!isHdf5(path, key)) {
            throw new ConfigException(key, path, "is not an HDF5 file; save the Keras model with "
                    + "model.save(\"model.h5\") (Keras 3's .keras archives cannot be imported)");
        }
    }

    /** Whether the file at {@code path} starts as an HDF5 file does. */
    public static boolean isHdf5(String path, String key) {
        try (InputStream in = Files.newInputStream(Path.of(path))) {
            return Arrays.equals(in.readNBytes(HDF5_SIGNATURE.length), HDF5_SIGNATURE);
        } catch (IOException e) {
            throw new ConfigException(key, path, "cannot be read: " + e.getMessage());
        }
    }

    private static FineTuneConfiguration planOptimizer(OptimizerConfig optimizer, long seed) {
        return new FineTuneConfiguration.Builder().updater(NetworkFactory.updater(optimizer)).seed(seed).build();
    }

    private static void requireOutputs(MultiLayerNetwork net, String key, String path, InputShape input,
                                       int numClasses) {
        requireReads(net, key, path, input);
        long outputs = net.output(Nd4j.zeros(DataType.FLOAT, 1, input.size())).size(1);
        if (outputs != numClasses) {
            throw new ConfigException(key, path, "has " + outputs + " outputs but data.classes is " + numClasses);
        }
    }

    private static void requireReads(MultiLayerNetwork net, String key, String path, InputShape input) {
        try {
            net.output(Nd4j.zeros(DataType.FLOAT, 1, input.size()));
        } catch (RuntimeException e) {
            throw new ConfigException(key, path, "cannot read the data's examples (" + input + "): "
                    + e.getMessage());
        }
    }
}
