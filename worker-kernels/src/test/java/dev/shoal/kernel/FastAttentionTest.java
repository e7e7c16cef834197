package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.opentest4j.AssertionFailedError;

/**
 * {@link FastAttention} against DL4J's own SelfAttentionLayer (its SameDiff graph): the same outputs and gradients
 * on the attention-classifier and on odd shapes, finite where large scores would overflow an exp without the max
 * subtracted, DL4J's own path for masked input, and DL4J's numerical gradient check in double precision.
 */
class FastAttentionTest {

    /** Self-attention (nIn -> units, the given heads), max over time, softmax over 3 classes. */
    private static MultiLayerConfiguration attention(DataType type, int nIn, int units, int heads) {
        return attention(type, nIn, units, heads, new NoOp());
    }

    private static MultiLayerConfiguration attention(DataType type, int nIn, int units, int heads,
                                                     org.nd4j.linalg.learning.config.IUpdater updater) {
        return new NeuralNetConfiguration.Builder().seed(5).dataType(type).updater(updater)
                .weightInit(WeightInit.XAVIER).list()
                .layer(new SelfAttentionLayer.Builder().nOut(units).nHeads(heads).projectInput(true).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.MAX).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(nIn)).build();
    }

    private static INDArray labels(DataType type, int batch) {
        return KernelFixtures.oneHot(type, batch, 3);
    }

    private static MultiLayerNetwork[] dl4jAndFast(MultiLayerConfiguration conf) {
        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init();
        MultiLayerNetwork fast = new MultiLayerNetwork(conf.clone());
        fast.init(dl4j.params().dup(), true);
        assertEquals(1, FastAttention.install(fast));
        return new MultiLayerNetwork[] {dl4j, fast};
    }

    /** The attention layer's weights, when it is the network's first layer. */
    private static final List<String> ATTENTION_WEIGHTS = List.of("0_Wq", "0_Wk", "0_Wv", "0_Wo");

    /**
     * DL4J's gradients of the attention layer and of every layer below it (the gradient DL4J's attention passes
     * down is twice the true one as well), halved: see {@link #dl4jsOwnAttentionGradientIsTwiceTheTrueOne}.
     */
    private static void halveAttentionGradients(Gradient gradient) {
        int attention = gradient.gradientForVariable().keySet().stream().filter(k -> k.endsWith("_Wq"))
                .mapToInt(k -> Integer.parseInt(k.substring(0, k.indexOf('_')))).findFirst().orElseThrow();
        gradient.gradientForVariable().forEach((key, view) -> {
            if (Integer.parseInt(key.substring(0, key.indexOf('_'))) <= attention) {
                view.divi(2);
            }
        });
    }

    private static void assertSameAsDl4j(MultiLayerConfiguration conf, INDArray x, INDArray y) {
        MultiLayerNetwork[] nets = dl4jAndFast(conf);
        Dl4jEquality.assertSameAs(nets[0], nets[1], x, y, FastAttentionTest::halveAttentionGradients);
    }

    @Test
    void theAttentionClassifierMatchesDl4jsOwnLayer() {
        ModelConfig model = new ModelConfig(ModelType.ATTENTION_CLASSIFIER, List.of(6),
                dev.shoal.kernel.config.Activation.RELU, dev.shoal.kernel.config.WeightInit.XAVIER, 0, 0, 0,
                dev.shoal.kernel.config.Loss.MCXENT, List.of(1), 8, 12, 4, "", 0, 0, "", "");
        MultiLayerConfiguration conf = NetworkFactory.build(model, KernelFixtures.optimizer(UpdaterType.ADAM),
                InputShape.sequence(10, 30), 3, 5);
        assertSameAsDl4j(conf, KernelFixtures.tokens(7, 10, 30), labels(DataType.FLOAT, 7));
    }

    /** One step, one example, one value per head, one head. */
    @ParameterizedTest(name = "batch {0}, {1} steps, {2} units in {3} heads")
    @CsvSource({"1, 1, 4, 2", "1, 9, 6, 3", "4, 1, 4, 4", "3, 5, 5, 1", "2, 17, 8, 2"})
    void oddShapesMatchDl4jsOwnLayer(int batch, int steps, int units, int heads) {
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 5, steps).subi(0.5);
        assertSameAsDl4j(attention(DataType.FLOAT, 5, units, heads), x, labels(DataType.FLOAT, batch));
    }

    /**
     * Scores in the thousands: an exp without the row's max subtracted overflows to infinity and the weights to
     * NaN; with it, the result is DL4J's.
     */
    @Test
    void largeScoresStayFiniteAndMatchDl4j() {
        MultiLayerNetwork[] nets = dl4jAndFast(attention(DataType.FLOAT, 5, 4, 2));
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 5, 6).subi(0.5).muli(2000);
        INDArray fast = nets[1].output(x);
        assertTrue(Double.isFinite(fast.sumNumber().doubleValue()), fast.toString());
        Dl4jEquality.assertSameAs(nets[0], nets[1], x, labels(DataType.FLOAT, 3),
                FastAttentionTest::halveAttentionGradients);
    }

    @Test
    void maskedSequencesFallBackToDl4jsOwnPath() {
        MultiLayerNetwork[] nets = dl4jAndFast(attention(DataType.FLOAT, 5, 4, 2));
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 5, 6);
        INDArray mask = Nd4j.ones(DataType.FLOAT, 4, 6);
        mask.get(NDArrayIndex.point(1), NDArrayIndex.interval(3, 6)).assign(0);
        for (MultiLayerNetwork net : nets) {
            net.setInput(x);
            net.setLabels(labels(DataType.FLOAT, 4));
            net.setLayerMaskArrays(mask, null);
            net.computeGradientAndScore();
        }
        assertEquals(nets[0].gradient().gradient(), nets[1].gradient().gradient());
        assertEquals(nets[0].score(), nets[1].score());
    }

    @Test
    void passesDl4jsNumericalGradientCheckInDoublePrecision() {
        MultiLayerNetwork net = new MultiLayerNetwork(attention(DataType.DOUBLE, 5, 6, 3));
        net.init();
        assertEquals(1, FastAttention.install(net));
        assertInstanceOf(FastAttention.class, net.getLayer(0));
        INDArray x = Nd4j.rand(DataType.DOUBLE, 3, 5, 4).subi(0.5);
        Dl4jEquality.assertGradientCheckPasses(net, x, labels(DataType.DOUBLE, 3));
    }

    /**
     * DL4J 1.0.0-M2.1's own SelfAttentionLayer gives twice the true gradient of every attention weight: its
     * numerical gradient check fails, and its analytic gradients are exactly twice this class's, which pass the
     * check (above). Pinned here: if a DL4J upgrade fixes it, this test says so and the comparisons can drop the
     * halving.
     */
    @Test
    void dl4jsOwnAttentionGradientIsTwiceTheTrueOne() {
        MultiLayerNetwork[] nets = dl4jAndFast(attention(DataType.DOUBLE, 5, 6, 3));
        INDArray x = Nd4j.rand(DataType.DOUBLE, 3, 5, 4).subi(0.5);
        for (MultiLayerNetwork net : nets) {
            net.setInput(x);
            net.setLabels(labels(DataType.DOUBLE, 3));
            net.computeGradientAndScore();
        }
        for (String key : ATTENTION_WEIGHTS) {
            INDArray dl4j = nets[0].gradient().getGradientFor(key);
            INDArray fast = nets[1].gradient().getGradientFor(key);
            assertEquals(0, dl4j.sub(fast.mul(2)).norm2Number().doubleValue(), 1e-9 * dl4j.norm2Number().doubleValue(), key);
        }
        assertEquals(nets[0].gradient().getGradientFor("2_W"), nets[1].gradient().getGradientFor("2_W"));
        MultiLayerNetwork dl4j = new MultiLayerNetwork(attention(DataType.DOUBLE, 5, 6, 3));
        dl4j.init();
        assertThrows(AssertionFailedError.class, () -> Dl4jEquality.assertGradientCheckPasses(dl4j, x,
                labels(DataType.DOUBLE, 3)));
    }

    /**
     * Training a few steps through the network's own fit: the same parameters as DL4J's layer gives. Adam (with an
     * epsilon too small to matter) takes the same steps from a gradient and from twice it, so DL4J's doubled
     * gradient does not show here.
     */
    @Test
    void trainsLikeDl4jsOwnLayer() {
        MultiLayerConfiguration conf = attention(DataType.FLOAT, 5, 4, 2,
                new org.nd4j.linalg.learning.config.Adam(0.01, 0.9, 0.999, 1e-14));
        MultiLayerNetwork[] nets = dl4jAndFast(conf);
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 5, 7).subi(0.5);
        INDArray start = nets[0].params().dup();
        for (MultiLayerNetwork net : nets) {
            for (int i = 0; i < 3; i++) {
                net.fit(x, labels(DataType.FLOAT, 6));
            }
        }
        dev.shoal.kernel.testing.Rounding.assertSameUpdate("parameters", Dl4jEquality.floats(start),
                Dl4jEquality.floats(nets[0].params()), Dl4jEquality.floats(nets[1].params()));
    }
}
