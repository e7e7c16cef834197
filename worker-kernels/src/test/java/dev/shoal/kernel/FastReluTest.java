package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import dev.shoal.kernel.testing.Rounding;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class FastReluTest {

    private static IActivation layerActivation(MultiLayerNetwork net, int layer) {
        return ((BaseLayer) net.getLayer(layer).conf().getLayer()).getActivationFn();
    }

    @Test
    void gradientEqualsDl4jsReluExactly() {
        INDArray in = Nd4j.rand(DataType.FLOAT, 64, 50).subi(0.5);
        in.getRow(3).assign(0);
        INDArray epsilon = Nd4j.randn(DataType.FLOAT, 64, 50);

        INDArray expected = new ActivationReLU().backprop(in.dup(), epsilon.dup()).getFirst();
        INDArray actual = new FastRelu().backprop(in.dup(), epsilon.dup()).getFirst();

        assertEquals(expected, actual);
    }

    /** The forward pass into another array: DL4J's ReLU in place, and the input left as it was. */
    @Test
    void activationIntoAnotherArrayEqualsDl4jsInPlace() {
        INDArray in = Nd4j.randn(DataType.FLOAT, 64, 50);
        in.getRow(3).assign(0);
        INDArray before = in.dup();
        INDArray out = Nd4j.create(DataType.FLOAT, 64, 50).assign(Float.NaN);

        new FastRelu().activate(in, out);

        assertEquals(new ActivationReLU().getActivation(in.dup(), true), out);
        assertEquals(before, in);
    }

    static Stream<ModelType> models() {
        return Stream.of(ModelType.MLP, ModelType.LENET);
    }

    /**
     * A kernel's ReLU layers train with FastRelu and give DL4J's own fit (DL4J's ReLU, built-in layers), while the
     * network's configuration, from which models are saved, still names DL4J's ReLU. (SGD: Adam would magnify
     * the float rounding of the convolutions' sums, which run in another order than DL4J's.)
     */
    @ParameterizedTest
    @MethodSource("models")
    void reluNetworksTrainAsDl4jFitAndKeepDl4jsReluInTheirConfiguration(ModelType type) {
        String json = NetworkFactory.build(new ModelConfig(type, List.of(12), Activation.RELU, WeightInit.RELU, 0, 0,
                        1e-4, Loss.MCXENT), KernelFixtures.optimizer(UpdaterType.SGD), new InputShape(16, 16, 1), 3, 5)
                .toJson();
        MultiLayerNetwork plain = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        plain.init();
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot start = kernel.snapshot();
        MultiLayerNetwork fast = kernel.network(start);

        assertSame(FastRelu.class, layerActivation(fast, 0).getClass());
        String saved = fast.getLayerWiseConfigurations().toJson();
        assertEquals(plain.getLayerWiseConfigurations().toJson(), saved);
        assertFalse(saved.contains("FastRelu"));

        ExampleBlock data = new ExampleBlock(Nd4j.rand(DataType.FLOAT, 40, 256).data().asFloat(),
                new int[40], 256, 3);
        WorkerResult result = kernel.train(start, data.batches(2, 8, 0, 5));
        for (Iterator<MiniBatch> it = data.batches(2, 8, 0, 5); it.hasNext(); ) {
            plain.fit(it.next().toDataSet());
        }
        Rounding.assertSameUpdate("parameters after 5 steps", start.params(), plain.params().toFloatVector(),
                result.average(5, 0).params());
    }

    /** A ReLU with a threshold, maximum or slope keeps DL4J's own implementation. */
    @Test
    void reluVariantsAreLeftToDl4j() {
        String json = NetworkFactory.build(new ModelConfig(ModelType.MLP, List.of(12), Activation.RELU,
                WeightInit.RELU, 0, 0, 0, Loss.MCXENT), KernelFixtures.optimizer(UpdaterType.SGD),
                InputShape.vector(6), 3, 5).toJson();
        MultiLayerConfiguration conf = MultiLayerConfiguration.fromJson(json);
        ((BaseLayer) conf.getConf(0).getLayer()).setActivationFn(new ActivationReLU(6.0, null, null));

        WorkerKernel kernel = new WorkerKernel(conf.toJson());
        MultiLayerNetwork fast = kernel.network(kernel.snapshot());

        assertSame(ActivationReLU.class, layerActivation(fast, 0).getClass());
    }
}
