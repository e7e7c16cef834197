package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class NetworkFactoryTest {
    private static final OptimizerConfig ADAM = new OptimizerConfig(UpdaterType.ADAM, 0.002, 0.9, 0.9, 0.999, 0.95,
            1e-8, new ScheduleConfig(ScheduleType.NONE, 1, 1));

    private static ModelConfig lenet(List<Integer> hidden) {
        return new ModelConfig(ModelType.LENET, hidden, Activation.RELU, WeightInit.RELU, 0, 0, 0, Loss.MCXENT);
    }

    @Test
    void lenetOnFashionMnistSizedImagesHasTheClassicLayersAndParameterCount() {
        MultiLayerConfiguration conf = NetworkFactory.build(lenet(List.of(500)), ADAM, new InputShape(28, 28, 1), 10, 1);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();

        assertEquals(6, net.getnLayers());
        assertTrue(conf.getConf(0).getLayer() instanceof ConvolutionLayer);
        assertTrue(conf.getConf(1).getLayer() instanceof SubsamplingLayer);
        // conv 5x5x1 -> 20, conv 5x5x20 -> 50, dense 4*4*50 -> 500, output 500 -> 10; weights and biases.
        long expected = (25 * 20 + 20) + (25 * 20 * 50 + 50) + (800 * 500 + 500) + (500 * 10 + 10);
        assertEquals(expected, net.numParams());
    }

    @Test
    void lenetRefusesDataThatAreNotImagesNamingTheKeyAndTheShape() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> NetworkFactory.build(lenet(List.of(500)), ADAM, InputShape.vector(784), 10, 1));
        assertEquals("model.type = lenet: needs images of at least 16x16, but the data's examples are 784",
                e.getMessage());
    }

    @Test
    void lenetLearnsWhereTheBrightSquareIs() {
        assertLearns(NetworkFactory.build(lenet(List.of(32)), ADAM, new InputShape(16, 16, 1), 2, 3).toJson(),
                squares(256, 4));
    }

    @Test
    void cnnHasOneSamePaddedConvolutionAndPoolPerFilterEntry() {
        ModelConfig cnn = new ModelConfig(ModelType.CNN, List.of(16), Activation.RELU, WeightInit.RELU, 0, 0, 0,
                Loss.MCXENT, List.of(8, 4), 16, 16, 4, "", 0, 0, "", "");
        MultiLayerNetwork net = new MultiLayerNetwork(NetworkFactory.build(cnn, ADAM, new InputShape(8, 8, 3), 5, 1));
        net.init();

        // conv 3x3x3 -> 8 keeps 8x8, pool -> 4x4; conv 3x3x8 -> 4, pool -> 2x2; dense 16 -> 16; output 16 -> 5.
        long expected = (27 * 8 + 8) + (72 * 4 + 4) + (16 * 16 + 16) + (16 * 5 + 5);
        assertEquals(expected, net.numParams());
        assertEquals(List.of(2L, 5L), List.of(net.output(org.nd4j.linalg.factory.Nd4j.rand(
                org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 192)).shape()).stream()
                .flatMapToLong(java.util.Arrays::stream).boxed().toList());
    }

    @Test
    void cnnLearnsWhereTheBrightSquareIs() {
        ModelConfig cnn = new ModelConfig(ModelType.CNN, List.of(16), Activation.RELU, WeightInit.RELU, 0, 0, 0,
                Loss.MCXENT, List.of(8, 8), 16, 16, 4, "", 0, 0, "", "");
        assertLearns(NetworkFactory.build(cnn, ADAM, new InputShape(16, 16, 1), 2, 3).toJson(), squares(256, 4));
    }

    @Test
    void lstmClassifierLearnsWhetherAMarkerTokenOccurs() {
        assertLearns(NetworkFactory.build(text(ModelType.LSTM_CLASSIFIER), ADAM, InputShape.sequence(12, 20), 2, 3)
                .toJson(), markedSequences(512, 12, 20, 5), 8);
    }

    @Test
    void attentionClassifierLearnsWhetherAMarkerTokenOccurs() {
        assertLearns(NetworkFactory.build(text(ModelType.ATTENTION_CLASSIFIER), ADAM, InputShape.sequence(12, 20),
                2, 3).toJson(), markedSequences(512, 12, 20, 5), 8);
    }

    @Test
    void anAutoencoderMirrorsItsEncoderAndLearnsToReconstructItsInput() {
        ModelConfig autoencoder = new ModelConfig(ModelType.AUTOENCODER, List.of(64, 16), Activation.RELU,
                WeightInit.RELU, 0, 0, 0, Loss.MSE);
        MultiLayerConfiguration conf = NetworkFactory.build(autoencoder, ADAM, new InputShape(16, 16, 1), 2, 3);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        // 256 -> 64 -> 16 (the code) -> 64 -> 256
        assertEquals((256 * 64 + 64) + (64 * 16 + 16) + (16 * 64 + 64) + (64 * 256 + 256), net.numParams());

        WorkerKernel kernel = new WorkerKernel(conf.toJson(), Target.FEATURES);
        ExampleBlock block = squares(256, 4);
        ModelSnapshot model = kernel.snapshot();
        EvalResult before = kernel.evaluate(model, block.inOrder(64));
        for (int epoch = 0; epoch < 5; epoch++) {
            kernel.train(model, block.batches(epoch, 32, 0, Integer.MAX_VALUE));
            model = kernel.snapshot();
        }
        EvalResult after = kernel.evaluate(model, block.inOrder(64));
        assertTrue(after.meanLoss() < before.meanLoss() / 2, "MSE " + before.meanLoss() + " -> " + after.meanLoss());
        assertTrue(Double.isNaN(after.accuracy()), "a reconstruction has no accuracy");
    }

    @Test
    void aCharLstmLearnsToContinueARepeatingPattern() {
        // Sequences of the cycle 0 1 2 3 4 at random phases: every next token follows from the one before.
        int length = 9;
        Random random = new Random(3);
        float[] x = new float[300 * (length + 1)];
        for (int i = 0; i < 300; i++) {
            int phase = random.nextInt(5);
            for (int t = 0; t <= length; t++) {
                x[i * (length + 1) + t] = (phase + t) % 5;
            }
        }
        ExampleBlock block = new ExampleBlock(x, new int[300], length + 1, 5);
        ModelConfig charLstm = new ModelConfig(ModelType.CHAR_LSTM, List.of(16), Activation.RELU, WeightInit.XAVIER,
                0, 0, 0, Loss.MCXENT, List.of(32), 8, 16, 2, "", 0, 0, "", "");
        WorkerKernel kernel = new WorkerKernel(NetworkFactory.build(charLstm, ADAM, InputShape.sequence(length, 5), 5,
                3).toJson(), Target.NEXT_TOKENS);
        ModelSnapshot model = kernel.snapshot();
        double before = kernel.evaluate(model, block.inOrder(64)).meanLoss();
        for (int epoch = 0; epoch < 10; epoch++) {
            kernel.train(model, block.batches(epoch, 32, 0, Integer.MAX_VALUE));
            model = kernel.snapshot();
        }
        EvalResult after = kernel.evaluate(model, block.inOrder(64));
        assertTrue(after.meanLoss() < before / 2, "loss " + before + " -> " + after.meanLoss());
        assertTrue(after.accuracy() > 0.95, "next-token accuracy " + after.accuracy());
        assertEquals(300L * length, java.util.Arrays.stream(after.confusion()).sum(), "one prediction per step");
    }

    @Test
    void textModelsRefuseNumericFeaturesAndOtherModelsRefuseTokens() {
        ConfigException text = assertThrows(ConfigException.class, () -> NetworkFactory.build(
                text(ModelType.LSTM_CLASSIFIER), ADAM, InputShape.vector(784), 10, 1));
        assertEquals("model.type = lstm-classifier: needs token sequences (a text data format), but the data's "
                + "examples are 784", text.getMessage());
        ConfigException mlp = assertThrows(ConfigException.class, () -> NetworkFactory.build(
                new ModelConfig(ModelType.MLP, List.of(8), Activation.RELU, WeightInit.RELU, 0, 0, 0, Loss.MCXENT),
                ADAM, InputShape.sequence(100, 2000), 2, 1));
        assertEquals("model.type = mlp: cannot read sequences of 100 tokens; use lstm-classifier or "
                + "attention-classifier", mlp.getMessage());
    }

    @Test
    void attentionHeadsMustDivideItsUnits() {
        ConfigException e = assertThrows(ConfigException.class, () -> new ModelConfig(ModelType.ATTENTION_CLASSIFIER,
                List.of(), Activation.RELU, WeightInit.RELU, 0, 0, 0, Loss.MCXENT, List.of(32), 16, 30, 4, "", 0, 0, "",
                ""));
        assertEquals("heads = 4: must divide units (30)", e.getMessage());
    }

    /** Every family, trained a little, saved as a standard DL4J model.zip and loaded back, predicts the same. */
    @ParameterizedTest
    @EnumSource(value = ModelType.class, names = {"FINE_TUNE", "DL4J_JSON", "KERAS", "GAN"},
            mode = EnumSource.Mode.EXCLUDE)
    void everyFamilyReloadsFromItsSavedModelAndPredictsTheSame(ModelType type, @TempDir Path dir) throws Exception {
        boolean text = type.readsTokens();
        boolean nextTokens = type.target() == Target.NEXT_TOKENS;
        ModelConfig model = text ? text(type) : new ModelConfig(type, List.of(8), Activation.RELU, WeightInit.RELU,
                0.2, 0, 1e-4, Loss.MCXENT, List.of(4, 4), 16, 16, 2, "", 0, 0, "", "");
        ExampleBlock block = text ? markedSequences(64, 12, 20, 5) : squares(64, 4);
        // A language model reads all tokens but the last and predicts a token of the vocabulary at every step.
        InputShape input = text ? InputShape.sequence(nextTokens ? 11 : 12, 20) : new InputShape(16, 16, 1);
        int classes = nextTokens ? 20 : 2;
        block = new ExampleBlock(block.features(), block.labels(), block.featureSize(), classes);
        WorkerKernel kernel = new WorkerKernel(NetworkFactory.build(model, ADAM, input, classes, 3).toJson(),
                type.target());
        kernel.train(kernel.snapshot(), block.batches(1, 16, 0, Integer.MAX_VALUE));
        MultiLayerNetwork trained = kernel.network(kernel.snapshot());
        File saved = dir.resolve("model.zip").toFile();
        ModelSerializer.writeModel(trained, saved, true);

        MultiLayerNetwork loaded = ModelSerializer.restoreMultiLayerNetwork(saved, true);
        INDArray features = block.inOrder(64).next().toDataSet().getFeatures();
        if (nextTokens) {
            features = features.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 11)).dup();
        }
        assertEquals(trained.output(features, false), loaded.output(features, false));
        assertEquals(trained.getUpdater().getStateViewArray(), loaded.getUpdater().getStateViewArray());
    }

    private static ModelConfig text(ModelType type) {
        return new ModelConfig(type, List.of(16), Activation.RELU, WeightInit.XAVIER, 0, 0, 0, Loss.MCXENT,
                List.of(32), 16, 16, 2, "", 0, 0, "", "");
    }

    /** A few epochs from a fresh model halve the loss and classify 90% of the (training) block right. */
    private static void assertLearns(String json, ExampleBlock block) {
        assertLearns(json, block, 3);
    }

    private static void assertLearns(String json, ExampleBlock block, int epochs) {
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot model = kernel.snapshot();
        double before = kernel.evaluate(model, block.batches(1, 64, 0, Integer.MAX_VALUE)).meanLoss();
        for (int epoch = 0; epoch < epochs; epoch++) {
            kernel.train(model, block.batches(epoch, 32, 0, Integer.MAX_VALUE));
            model = kernel.snapshot();
        }
        EvalResult after = kernel.evaluate(model, block.batches(1, 64, 0, Integer.MAX_VALUE));
        assertTrue(after.meanLoss() < before / 2, "loss " + before + " -> " + after.meanLoss());
        assertTrue(after.accuracy() > 0.9, "accuracy " + after.accuracy());
    }

    /**
     * Sequences of random token ids in [2, vocabulary); class 1 holds the marker token 1 somewhere, class 0 not.
     */
    static ExampleBlock markedSequences(int n, int length, int vocabulary, long seed) {
        Random random = new Random(seed);
        float[] x = new float[n * length];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = random.nextInt(2);
            for (int t = 0; t < length; t++) {
                x[i * length + t] = 2 + random.nextInt(vocabulary - 2);
            }
            if (y[i] == 1) {
                x[i * length + random.nextInt(length)] = 1;
            }
        }
        return new ExampleBlock(x, y, length, 2);
    }

    /** 16x16 images with noise and a bright 5x5 square, on the left half (class 0) or the right half (class 1). */
    private static ExampleBlock squares(int n, long seed) {
        Random random = new Random(seed);
        float[] x = new float[n * 256];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = random.nextInt(2);
            for (int p = 0; p < 256; p++) {
                x[i * 256 + p] = 0.2f * random.nextFloat();
            }
            int top = random.nextInt(11);
            int left = y[i] * 8 + random.nextInt(4);
            for (int r = top; r < top + 5; r++) {
                for (int c = left; c < left + 5; c++) {
                    x[i * 256 + r * 16 + c] = 1;
                }
            }
        }
        return new ExampleBlock(x, y, 256, 2);
    }
}
