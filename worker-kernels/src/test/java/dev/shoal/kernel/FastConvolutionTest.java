package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@link FastConvolution} against DL4J's built-in convolution: the same outputs and gradients on LeNet and on
 * convolutions with strides, padding, 'Same' mode, several channels and non-square kernels; and, in double
 * precision, DL4J's numerical gradient check passes with it plugged in.
 */
class FastConvolutionTest {

    /** One convolution (as given) and a max pooling, then a softmax output, on {@code c x h x w} inputs. */
    private static MultiLayerConfiguration conv(DataType type, ConvolutionLayer.Builder layer, int c, int h, int w) {
        return new NeuralNetConfiguration.Builder().seed(3).dataType(type).updater(new NoOp())
                .weightInit(WeightInit.XAVIER).convolutionMode(ConvolutionMode.Truncate).list()
                .layer(layer.activation(Activation.TANH).build())
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(h, w, c)).build();
    }

    static Stream<ConvolutionLayer.Builder> layers() {
        return Stream.of(
                new ConvolutionLayer.Builder(3, 3).nOut(5),
                new ConvolutionLayer.Builder(3, 3).nOut(4).stride(2, 2).padding(1, 1),
                new ConvolutionLayer.Builder(3, 2).nOut(4).stride(1, 2),
                new ConvolutionLayer.Builder(3, 3).nOut(4).stride(2, 2).convolutionMode(ConvolutionMode.Same),
                new ConvolutionLayer.Builder(2, 2).nOut(6).hasBias(false));
    }

    private static INDArray labels(DataType type, int rows, int classes) {
        INDArray y = Nd4j.zeros(type, rows, classes);
        for (int i = 0; i < rows; i++) {
            y.putScalar(i, (i * 7) % classes, 1);
        }
        return y;
    }

    /** Each layer with each of the helper's two paths: oneDNN's passes and its own im2col and products. */
    static Stream<Arguments> layersAndPaths() {
        return layers().flatMap(layer -> Stream.of(Arguments.of(layer, true), Arguments.of(layer, false)));
    }

    private static void assertSameAsDl4j(MultiLayerConfiguration conf, INDArray x, INDArray y, int convLayers,
                                         boolean oneDnn) {
        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init();
        MultiLayerNetwork fast = new MultiLayerNetwork(conf.clone());
        fast.init(dl4j.params().dup(), true);
        assertEquals(convLayers, FastConvolution.install(fast, oneDnn));

        Dl4jEquality.assertSameAs(dl4j, fast, x, y);
        assertTrue(fast.getLayer(0).getHelper().helperMemoryUse().get("patches") > 0,
                "the helper, not DL4J's own path, computed the first layer");
    }

    /** The test JVMs load the native library built with oneDNN, as conf/jvm.properties asks every JVM to. */
    @Test
    void oneDnnIsLoaded() {
        assertTrue(OneDnn.available(), "ND4J's native library has no oneDNN: is "
                + "-Dorg.bytedeco.javacpp.platform.extension=-onednn missing from the JVM's flags?");
    }

    @ParameterizedTest
    @MethodSource("layersAndPaths")
    void convolutionsMatchDl4jsBuiltInPath(ConvolutionLayer.Builder layer, boolean oneDnn) {
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 3, 9, 8).subi(0.5);
        assertSameAsDl4j(conv(DataType.FLOAT, layer.nIn(3), 3, 9, 8), x, labels(DataType.FLOAT, 6, 4), 2, oneDnn);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void lenetMatchesDl4jsBuiltInPath(boolean oneDnn) {
        MultiLayerConfiguration lenet = NetworkFactory.build(
                new ModelConfig(ModelType.LENET, List.of(50), dev.shoal.kernel.config.Activation.RELU,
                        dev.shoal.kernel.config.WeightInit.RELU, 0, 0, 1e-4, dev.shoal.kernel.config.Loss.MCXENT),
                KernelFixtures.optimizer(dev.shoal.kernel.config.UpdaterType.ADAM), new InputShape(28, 28, 1), 10, 5);
        assertSameAsDl4j(lenet, Nd4j.rand(DataType.FLOAT, 16, 784), labels(DataType.FLOAT, 16, 10), 2, oneDnn);
    }

    /**
     * Training, a last short minibatch and evaluation in larger ones alternate every epoch: the buffers grow to
     * the largest size once and are not allocated again (each new allocation used to stay in native memory until
     * the garbage collector reached the old generation).
     */
    @Test
    void minibatchesOfEverySizeShareTheBuffersOfTheLargest() {
        String lenet = NetworkFactory.build(
                new ModelConfig(ModelType.LENET, List.of(20), dev.shoal.kernel.config.Activation.RELU,
                        dev.shoal.kernel.config.WeightInit.RELU, 0, 0, 0, dev.shoal.kernel.config.Loss.MCXENT),
                KernelFixtures.optimizer(dev.shoal.kernel.config.UpdaterType.ADAM), new InputShape(16, 16, 1), 3, 5)
                .toJson();
        WorkerKernel kernel = new WorkerKernel(lenet);
        ExampleBlock block = new ExampleBlock(Nd4j.rand(DataType.FLOAT, 70, 256).data().asFloat(), new int[70], 256,
                3);
        kernel.evaluate(kernel.snapshot(), block.inOrder(64));
        kernel.train(kernel.snapshot(), block.batches(1, 16, 0, Integer.MAX_VALUE));
        Map<String, Long> afterFirstEpoch = helper(kernel).helperMemoryUse();

        for (int epoch = 2; epoch < 4; epoch++) {
            kernel.evaluate(kernel.snapshot(), block.inOrder(64));
            kernel.train(kernel.snapshot(), block.batches(epoch, 16, 0, Integer.MAX_VALUE));
            assertEquals(afterFirstEpoch, helper(kernel).helperMemoryUse(), "epoch " + epoch);
        }
        // With oneDNN the first layer makes patches only for its weight gradient, so in training minibatches:
        // 16 x (1 x 5 x 5) x (12 x 12) floats.
        assertEquals(16L * 25 * 144 * 4, afterFirstEpoch.get("patches"));
    }

    private static FastConvolution helper(WorkerKernel kernel) {
        var layer = kernel.network(kernel.snapshot()).getLayer(0);
        return (FastConvolution) ((org.deeplearning4j.nn.layers.convolution.ConvolutionLayer) layer).getHelper();
    }

    /**
     * The first layer's weight gradient reads patches the helper keeps from pass to pass: an input array refilled
     * in place (as minibatch buffers are) must not get the patches of its old contents.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void anInputArrayRefilledInPlaceGetsFreshPatches(boolean oneDnn) {
        MultiLayerConfiguration conf = conv(DataType.FLOAT, new ConvolutionLayer.Builder(3, 3).nOut(5).nIn(3), 3, 9, 8);
        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init();
        MultiLayerNetwork fast = new MultiLayerNetwork(conf.clone());
        fast.init(dl4j.params().dup(), true);
        FastConvolution.install(fast, oneDnn);
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 3, 9, 8).subi(0.5);
        INDArray y = labels(DataType.FLOAT, 6, 4);
        Dl4jEquality.assertSameAs(dl4j, fast, x, y);

        x.assign(Nd4j.rand(DataType.FLOAT, 6, 3, 9, 8).subi(0.5));
        Dl4jEquality.assertSameAs(dl4j, fast, x, y);
    }

    /** oneDNN has no doubles: on them libnd4j's conv2d ops run their generic code. */
    @ParameterizedTest
    @MethodSource("layersAndPaths")
    void passesDl4jsNumericalGradientCheckInDoublePrecision(ConvolutionLayer.Builder layer, boolean oneDnn) {
        MultiLayerNetwork net = new MultiLayerNetwork(conv(DataType.DOUBLE, layer.nIn(2), 2, 7, 6));
        net.init();
        assertEquals(2, FastConvolution.install(net, oneDnn));
        INDArray x = Nd4j.rand(DataType.DOUBLE, 3, 2, 7, 6).subi(0.5);
        Dl4jEquality.assertGradientCheckPasses(net, x, labels(DataType.DOUBLE, 3, 4));
        assertTrue(net.getLayer(0).getHelper().helperMemoryUse().get("patches") > 0, "the helper ran");
    }
}
