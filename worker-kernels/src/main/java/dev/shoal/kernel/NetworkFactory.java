package dev.shoal.kernel;

import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;

/**
 * Turns the model and optimizer sections of a plan into a standard DL4J {@link MultiLayerConfiguration}.
 * The driver calls it once per run; its JSON form is what executors receive, so a saved model stays a plain
 * DL4J model that any DL4J program can load.
 */
public final class NetworkFactory {
    /** LeNet's two 5x5 convolutions, each followed by 2x2 max pooling. */
    private static final int[] LENET_FILTERS = {20, 50};
    /** Smallest image side that survives conv 5, pool 2, conv 5, pool 2: (s - 4) / 2 - 4 >= 2. */
    private static final int LENET_MIN_SIDE = 16;

    private NetworkFactory() {
    }

    /**
     * @param input      shape of one example's features
     * @param numClasses number of output classes
     * @param seed       seed of the weight initialisation
     * @throws ConfigException if the model cannot take this input (a CNN needs images, a text model tokens)
     */
    public static MultiLayerConfiguration build(ModelConfig model, OptimizerConfig optimizer, InputShape input,
                                                int numClasses, long seed) {
        NeuralNetConfiguration.ListBuilder layers = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater(optimizer))
                .weightInit(model.weightInit().dl4j())
                .l1(model.l1())
                .l2(model.l2())
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                // Keeps a convolution's forward result for its backward pass, which would compute it again.
                .cacheMode(CacheMode.DEVICE)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .list();
        int index = features(layers, model, input);
        switch (model.type()) {
            case AUTOENCODER -> {
                index = dense(layers, index, model, model.hidden());
                List<Integer> decoder = new ArrayList<>(model.hidden().subList(0, model.hidden().size() - 1));
                Collections.reverse(decoder);
                index = dense(layers, index, model, decoder);
                layers.layer(index, new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(input.size())
                        .activation(Activation.SIGMOID).build());
            }
            case CHAR_LSTM -> layers.layer(index, new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                    .nOut(numClasses).activation(Activation.SOFTMAX).build());
            case GAN -> gan(layers, model, input);
            default -> {
                index = dense(layers, index, model, model.hidden());
                boolean crossEntropy = model.loss() == Loss.MCXENT;
                layers.layer(index, new OutputLayer.Builder(
                        crossEntropy ? LossFunctions.LossFunction.MCXENT : LossFunctions.LossFunction.MSE)
                        .nOut(numClasses)
                        .activation(crossEntropy ? Activation.SOFTMAX : Activation.IDENTITY)
                        .build());
            }
        }
        // DL4J works out every nIn from the input type, and reshapes flat image rows for the convolutions. An
        // embedding's nIn is the vocabulary, not the one value per step the input type says: keep the set one.
        layers.overrideNinUponBuild(!model.type().readsTokens());
        layers.setInputType(inputType(model, input));
        return layers.build();
    }

    /** What the zoo network of {@code model} reads, as DL4J's input type: one example of {@code input}. */
    public static InputType inputType(ModelConfig model, InputShape input) {
        return switch (model.type()) {
            case MLP, AUTOENCODER -> InputType.feedForward(input.size());
            case GAN -> InputType.feedForward(model.units());
            case LENET, CNN -> InputType.convolutionalFlat(input.height(), input.width(), input.channels());
            case LSTM_CLASSIFIER, ATTENTION_CLASSIFIER, CHAR_LSTM -> InputType.recurrent(1, input.width());
            case FINE_TUNE, DL4J_JSON, KERAS -> throw fromFile();
        };
    }

    /**
     * Adds the layers of the model's family that come before its dense layers, checking that the family can
     * read this input; returns the index of the next layer.
     */
    private static int features(NeuralNetConfiguration.ListBuilder layers, ModelConfig model, InputShape input) {
        if (model.type().readsTokens() != input.isSequence()) {
            throw new ConfigException("model.type", model.type().configName(), model.type().readsTokens()
                    ? "needs token sequences (a text data format), but the data's examples are " + input
                    : "cannot read " + input + "; use lstm-classifier or attention-classifier");
        }
        int index = 0;
        switch (model.type()) {
            case MLP, AUTOENCODER -> {
                if (model.type() == ModelType.AUTOENCODER && model.hidden().isEmpty()) {
                    throw new ConfigException("model.hidden", model.hidden(), "an autoencoder needs at least its "
                            + "code layer");
                }
            }
            case GAN -> requireImages(model, input, 2);
            case CHAR_LSTM -> {
                layers.layer(index++, embedding(model, input));
                for (int units : model.hidden()) {
                    layers.layer(index++, new LSTM.Builder().nOut(units).activation(Activation.TANH).build());
                }
            }
            case FINE_TUNE, DL4J_JSON, KERAS -> throw fromFile();
            case LENET -> {
                requireImages(model, input, LENET_MIN_SIDE);
                for (int filters : LENET_FILTERS) {
                    layers.layer(index++, new ConvolutionLayer.Builder(5, 5).nOut(filters)
                            .activation(model.activation().dl4j()).build());
                    layers.layer(index++, maxPool());
                }
            }
            case CNN -> {
                requireImages(model, input, 1 << model.filters().size());
                for (int filters : model.filters()) {
                    layers.layer(index++, new ConvolutionLayer.Builder(3, 3).nOut(filters)
                            .convolutionMode(ConvolutionMode.Same).activation(model.activation().dl4j()).build());
                    layers.layer(index++, maxPool());
                }
            }
            case LSTM_CLASSIFIER -> {
                layers.layer(index++, embedding(model, input));
                layers.layer(index++, new LastTimeStep(new LSTM.Builder().nOut(model.units())
                        .activation(Activation.TANH).build()));
            }
            case ATTENTION_CLASSIFIER -> {
                layers.layer(index++, embedding(model, input));
                layers.layer(index++, new SelfAttentionLayer.Builder().nOut(model.units()).nHeads(model.heads())
                        .projectInput(true).build());
                layers.layer(index++, new GlobalPoolingLayer.Builder(PoolingType.MAX).build());
            }
        }
        return index;
    }

    /**
     * A GAN as one network, noise in, "is it real" out: the generator (dense {@code hidden}, then a sigmoid image)
     * and the discriminator (dense {@code hidden} reversed, then one sigmoid unit under binary cross-entropy), whose
     * layers have a zero learning rate here: fitting this network trains the generator alone ({@link Gan}).
     */
    private static void gan(NeuralNetConfiguration.ListBuilder layers, ModelConfig model, InputShape input) {
        int index = dense(layers, 0, model, model.hidden());
        layers.layer(index++, new DenseLayer.Builder().nOut(input.size()).activation(Activation.SIGMOID).build());
        List<Integer> discriminator = new ArrayList<>(model.hidden());
        Collections.reverse(discriminator);
        for (int out : discriminator) {
            layers.layer(index++, new DenseLayer.Builder().nOut(out).activation(Activation.LEAKYRELU)
                    .updater(Gan.FIXED).build());
        }
        layers.layer(index, new OutputLayer.Builder(LossFunctions.LossFunction.XENT).nOut(1)
                .activation(Activation.SIGMOID).updater(Gan.FIXED).build());
    }

    /** Dense layers of {@code sizes} from {@code index} on, with the model's activation and dropout. */
    private static int dense(NeuralNetConfiguration.ListBuilder layers, int index, ModelConfig model,
                             List<Integer> sizes) {
        for (int out : sizes) {
            DenseLayer.Builder dense = new DenseLayer.Builder().nOut(out).activation(model.activation().dl4j());
            if (model.dropout() > 0) {
                // DL4J's argument is the probability of *keeping* an input.
                dense.dropOut(1.0 - model.dropout());
            }
            layers.layer(index++, dense.build());
        }
        return index;
    }

    private static IllegalArgumentException fromFile() {
        return new IllegalArgumentException("networks from files are built by NetworkFiles");
    }

    private static void requireImages(ModelConfig model, InputShape input, int minSide) {
        if (!input.isImage() || input.height() < minSide || input.width() < minSide) {
            throw new ConfigException("model.type", model.type().configName(), "needs images of at least " + minSide
                    + "x" + minSide + ", but the data's examples are " + input);
        }
    }

    private static SubsamplingLayer maxPool() {
        return new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build();
    }

    private static EmbeddingSequenceLayer embedding(ModelConfig model, InputShape input) {
        return new EmbeddingSequenceLayer.Builder().nIn(input.vocabulary()).nOut(model.embedding())
                .inputLength(input.width()).build();
    }


    static IUpdater updater(OptimizerConfig o) {
        double lr = o.learningRate();
        ISchedule schedule = schedule(lr, o.schedule());
        return switch (o.updater()) {
            case SGD -> schedule == null ? new Sgd(lr) : new Sgd(schedule);
            case MOMENTUM -> schedule == null ? new Nesterovs(lr, o.momentum()) : new Nesterovs(schedule, o.momentum());
            case ADAM -> Adam.builder().learningRate(lr).learningRateSchedule(schedule)
                    .beta1(o.beta1()).beta2(o.beta2()).epsilon(o.epsilon()).build();
            case RMSPROP -> {
                RmsProp rms = new RmsProp(lr, o.rmsDecay(), o.epsilon());
                rms.setLearningRateSchedule(schedule);
                yield rms;
            }
        };
    }

    /** The DL4J schedule, or null (DL4J's own convention) for a constant learning rate. */
    private static ISchedule schedule(double lr, ScheduleConfig s) {
        return switch (s.type()) {
            case NONE -> null;
            case STEP -> new StepSchedule(ScheduleType.EPOCH, lr, s.decay(), s.everyEpochs());
            case EXPONENTIAL -> new ExponentialSchedule(ScheduleType.EPOCH, lr, s.decay());
        };
    }
}
