package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import dev.shoal.kernel.testing.Rounding;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class InferenceTest {

    /**
     * Outputs equal DL4J's output() up to rounding, batch after batch, a shorter batch between longer ones (the
     * buffers are reused): on the dense path for an MLP (its dropout acts only in training) and through DL4J for
     * a convolutional network.
     */
    @ParameterizedTest
    @CsvSource({"MLP, 0.5, true", "MLP, 0, true", "LENET, 0, false"})
    void outputsEqualDl4jsOutput(ModelType type, double dropout, boolean dense) {
        InputShape shape = new InputShape(16, 16, 1);
        String json = NetworkFactory.build(new ModelConfig(type, List.of(20, 12), Activation.RELU, WeightInit.RELU,
                dropout, 0, 0, Loss.MCXENT), KernelFixtures.optimizer(UpdaterType.ADAM), shape, 4, 7).toJson();
        MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        net.init();
        Inference inference = Inference.of(net, shape.size());
        assertEquals(dense, inference.dense());

        for (int rows : new int[] {9, 3, 9}) {
            float[] x = Nd4j.rand(DataType.FLOAT, rows, shape.size()).data().asFloat();
            float[] expected = net.output(Nd4j.create(x, new long[] {rows, shape.size()}, 'c'), false)
                    .data().asFloat();
            float[] actual = inference.output(x, rows);
            assertEquals(rows * 4, actual.length);
            Rounding.assertClose(type + " outputs of " + rows + " rows", expected, actual);
        }
    }

    /** Rows beyond {@code rows} in the array are not read: a batch can live at the start of a larger array. */
    @ParameterizedTest
    @CsvSource({"MLP", "LENET"})
    void readsOnlyTheRowsAskedFor(ModelType type) {
        InputShape shape = new InputShape(16, 16, 1);
        String json = NetworkFactory.build(new ModelConfig(type, List.of(8), Activation.TANH, WeightInit.XAVIER,
                0, 0, 0, Loss.MCXENT), KernelFixtures.optimizer(UpdaterType.SGD), shape, 3, 11).toJson();
        MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        net.init();
        float[] x = Nd4j.rand(DataType.FLOAT, 5, shape.size()).data().asFloat();
        float[] twoRows = Arrays.copyOf(x, 2 * shape.size());

        assertEquals(Arrays.toString(Inference.of(net, shape.size()).output(twoRows, 2)),
                Arrays.toString(Inference.of(net, shape.size()).output(x, 2)));
    }

    /**
     * Token classifiers score through Shoal's LSTM and attention kernels, with DL4J's outputs (computed here by an
     * untouched copy of the network) up to rounding.
     */
    @ParameterizedTest
    @CsvSource({"LSTM_CLASSIFIER", "ATTENTION_CLASSIFIER"})
    void tokenClassifiersScoreThroughShoalsKernels(ModelType type) {
        InputShape shape = InputShape.sequence(10, 30);
        MultiLayerConfiguration conf = NetworkFactory.build(new ModelConfig(type, List.of(6), Activation.RELU,
                WeightInit.XAVIER, 0, 0, 0, Loss.MCXENT, List.of(1), 8, 12, 4, "", 0, 0, "", ""),
                KernelFixtures.optimizer(UpdaterType.ADAM), shape, 3, 5);
        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init();
        MultiLayerNetwork net = new MultiLayerNetwork(conf.clone());
        net.init(dl4j.params().dup(), true);
        Inference inference = Inference.of(net, shape.size());

        var layer = net.getLayer(1) instanceof org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer wrapper
                ? wrapper.getUnderlying() : net.getLayer(1);
        assertTrue(layer instanceof FastAttention || layer.getHelper() instanceof FastLstm, layer.toString());
        for (int rows : new int[] {9, 3, 9}) {
            float[] x = KernelFixtures.tokens(rows, shape.size(), 30).data().asFloat();
            float[] expected = dl4j.output(Nd4j.create(x, new long[] {rows, shape.size()}, 'c'), false)
                    .data().asFloat();
            Rounding.assertClose(type + " outputs of " + rows + " rows", expected, inference.output(x, rows));
        }
    }
}
