package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.KernelOptions;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@link FastPooling} against DL4J's built-in max pooling: the same outputs and gradients bit for bit, also where a
 * window holds its maximum twice, and DL4J's own path wherever the helper does not apply.
 */
class FastPoolingTest {

    /**
     * A 3x3 convolution whose weights are all 1 (so that windows hold equal sums of different pixels), then
     * {@code pooling}, then a softmax output, on {@code h x w} images of 2 channels.
     */
    private static MultiLayerNetwork net(SubsamplingLayer.Builder pooling, int h, int w) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.FLOAT)
                .updater(new NoOp()).weightInit(WeightInit.XAVIER).convolutionMode(ConvolutionMode.Truncate).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.IDENTITY).build())
                .layer(pooling.build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(h, w, 2)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.getLayer(0).getParam("W").assign(1);
        return net;
    }

    private static MultiLayerNetwork copy(MultiLayerNetwork net) {
        MultiLayerNetwork copy = new MultiLayerNetwork(net.getLayerWiseConfigurations().clone());
        copy.init(net.params().dup(), true);
        return copy;
    }

    /** Pixels of 0 and 1: many windows hold their largest sum more than once. */
    private static INDArray bits(int rows, int h, int w) {
        return Nd4j.rand(DataType.FLOAT, rows, 2, h, w).gt(0.5).castTo(DataType.FLOAT);
    }

    /** Poolings the helper computes: windows that tile the convolution's output, with a remainder or not. */
    static Stream<Arguments> tiling() {
        return Stream.of(
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2), 10, 10),
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2), 9, 11),
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 2).stride(3, 2), 11, 8),
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same), 10, 8));
    }

    @ParameterizedTest
    @MethodSource("tiling")
    void maxPoolingIsDl4jsBitForBitTiesIncluded(SubsamplingLayer.Builder pooling, int h, int w) {
        MultiLayerNetwork dl4j = net(pooling, h, w);
        MultiLayerNetwork fast = copy(dl4j);
        assertEquals(1, FastPooling.install(fast));
        INDArray x = bits(8, h, w);
        fast.output(x, false);
        assertTrue(helperScratch(fast) > 0, "the helper computed the forward pass");
        Dl4jEquality.assertIdentical(dl4j, fast, x, KernelFixtures.oneHot(DataType.FLOAT, 8, 4));
    }

    /** Poolings the helper leaves to DL4J: overlapping windows, padding, averages, 'Same' with a remainder. */
    static Stream<Arguments> notTiling() {
        return Stream.of(
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2), 9, 9),
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .padding(1, 1), 8, 8),
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(2, 2), 8, 8),
                Arguments.of(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same), 9, 9));
    }

    @ParameterizedTest
    @MethodSource("notTiling")
    void otherPoolingsRunDl4jsOwnPath(SubsamplingLayer.Builder pooling, int h, int w) {
        MultiLayerNetwork dl4j = net(pooling, h, w);
        MultiLayerNetwork fast = copy(dl4j);
        FastPooling.install(fast);
        INDArray x = bits(4, h, w);
        Dl4jEquality.assertIdentical(dl4j, fast, x, KernelFixtures.oneHot(DataType.FLOAT, 4, 4));
        assertEquals(0, helperScratch(fast), "the helper declined both passes");
    }

    /** Bytes of scratch memory the helper of {@code net}'s pooling layer holds: none until it computed a pass. */
    private static long helperScratch(MultiLayerNetwork net) {
        return net.getLayer(1).getHelper().helperMemoryUse().get("scratch");
    }

    /**
     * LeNet with Shoal's convolutions and pooling, against DL4J's own layers: the same to float rounding. A worker's
     * kernel engages the pooling with the convolutions, and not when they are switched off.
     */
    /** oneDNN's pooling is preferred where oneDNN runs its AVX-512 kernels: the CPU has them and no cap forbids. */
    @Test
    void oneDnnPoolsOnAvx512Cpus() {
        String avx512 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni\n";
        String avx2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n";
        String avx512WithoutBw = "flags\t\t: fpu avx2 avx512f avx512dq avx512vl\n";
        assertTrue(FastPooling.avx512(avx512, null));
        assertTrue(FastPooling.avx512(avx512, "AVX512_CORE"));
        assertTrue(FastPooling.avx512(avx512, "all"));
        assertFalse(FastPooling.avx512(avx512, "AVX2"), "capped by ONEDNN_MAX_CPU_ISA");
        assertFalse(FastPooling.avx512(avx2, null));
        assertFalse(FastPooling.avx512(avx512WithoutBw, null));
        assertFalse(FastPooling.avx512("", null), "no /proc/cpuinfo");
    }

    @Test
    void lenetWithShoalsConvolutionsAndPoolingMatchesDl4j() {
        MultiLayerConfiguration lenet = NetworkFactory.build(
                new ModelConfig(ModelType.LENET, List.of(50), dev.shoal.kernel.config.Activation.RELU,
                        dev.shoal.kernel.config.WeightInit.RELU, 0, 0, 1e-4, dev.shoal.kernel.config.Loss.MCXENT),
                KernelFixtures.optimizer(dev.shoal.kernel.config.UpdaterType.ADAM), new InputShape(28, 28, 1), 10, 5);
        MultiLayerNetwork dl4j = new MultiLayerNetwork(lenet);
        dl4j.init();
        MultiLayerNetwork fast = copy(dl4j);
        assertEquals(2, FastConvolution.install(fast));
        assertEquals(2, FastPooling.install(fast));
        Dl4jEquality.assertSameAs(dl4j, fast, Nd4j.rand(DataType.FLOAT, 16, 784),
                KernelFixtures.oneHot(DataType.FLOAT, 16, 10));

        assertEquals(FastPooling.preferred(), new WorkerKernel(lenet.toJson(), Target.CLASS, KernelOptions.ALL)
                .speedUps().contains("FastPooling"));
        KernelOptions noConvolutions = new KernelOptions(true, true, false, true, true, true, true, true);
        assertFalse(new WorkerKernel(lenet.toJson(), Target.CLASS, noConvolutions).speedUps()
                .contains("FastPooling"));
    }
}
