package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.testing.Rounding;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
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

/**
 * {@link FastLstm} against DL4J's built-in LSTM: the same outputs and gradients for stacked LSTMs with a softmax
 * at every step, and for the lstm-classifier (embedding, LSTM, last step); and, in double precision, DL4J's
 * numerical gradient check passes with it plugged in.
 */
class FastLstmTest {

    /** Two LSTMs (5 -> 7 -> 6 units) and a softmax over 4 classes at every step. */
    private static MultiLayerConfiguration stacked(DataType type) {
        return new NeuralNetConfiguration.Builder().seed(3).dataType(type).updater(new NoOp())
                .weightInit(WeightInit.XAVIER).list()
                .layer(new LSTM.Builder().nOut(7).activation(Activation.TANH).build())
                .layer(new LSTM.Builder().nOut(6).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(5)).build();
    }

    /** One class per example and step, [batch, classes, time]. */
    private static INDArray stepLabels(DataType type, int batch, int classes, int steps) {
        INDArray y = Nd4j.zeros(type, batch, classes, steps);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < steps; t++) {
                y.putScalar(new long[] {b, (b * 3 + t) % classes, t}, 1);
            }
        }
        return y;
    }

    private static void assertSameAsDl4j(MultiLayerConfiguration conf, INDArray x, INDArray y, int lstmLayers) {
        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init();
        MultiLayerNetwork fast = new MultiLayerNetwork(conf.clone());
        fast.init(dl4j.params().dup(), true);
        assertEquals(lstmLayers, FastLstm.install(fast));

        Dl4jEquality.assertSameAs(dl4j, fast, x, y);
        for (org.deeplearning4j.nn.api.Layer layer : fast.getLayers()) {
            if (layer.getHelper() instanceof FastLstm helper) {
                assertTrue(helper.helperMemoryUse().get("heap") > 0, "the helper ran, not DL4J's own path");
            }
        }
    }

    @Test
    void stackedLstmsMatchDl4jsBuiltInPath() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 5, 9).subi(0.5);
        assertSameAsDl4j(stacked(DataType.FLOAT), x, stepLabels(DataType.FLOAT, 6, 4, 9), 2);
    }

    /** Sequences of one step, minibatches of one example, and both: the loops' and copies' edge cases. */
    @ParameterizedTest(name = "batch {0}, {1} steps")
    @CsvSource({"1, 1", "1, 7", "5, 1", "3, 2", "2, 33"})
    void oddShapesMatchDl4jsBuiltInPath(int batch, int steps) {
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 5, steps).subi(0.5);
        assertSameAsDl4j(stacked(DataType.FLOAT), x, stepLabels(DataType.FLOAT, batch, 4, steps), 2);
    }

    /**
     * Large inputs saturate the gates (sigmoids near 0 and 1, tanh near +-1), where FastMath's clamp is reached and
     * the slopes are tiny: still DL4J's results.
     */
    @Test
    void saturatedGatesMatchDl4jsBuiltInPath() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 5, 6).subi(0.5).muli(40);
        assertSameAsDl4j(stacked(DataType.FLOAT), x, stepLabels(DataType.FLOAT, 4, 4, 6), 2);
    }

    /** Buffers grow to the largest minibatch once and are reused: training adds no memory from step to step. */
    @Test
    void keepsItsBuffersFromStepToStep() {
        MultiLayerNetwork net = new MultiLayerNetwork(stacked(DataType.FLOAT).clone());
        net.init();
        FastLstm.install(net);
        org.deeplearning4j.nn.api.Layer lstm = net.getLayer(0);
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 5, 9);
        INDArray y = stepLabels(DataType.FLOAT, 6, 4, 9);
        net.fit(x, y);
        java.util.Map<String, Long> first = lstm.getHelper().helperMemoryUse();
        for (int i = 0; i < 3; i++) {
            net.fit(x, y);
        }
        net.fit(x.get(NDArrayIndex.interval(0, 2)).dup(), y.get(NDArrayIndex.interval(0, 2)).dup()); // smaller
        assertEquals(first, lstm.getHelper().helperMemoryUse());
        assertTrue(first.get("buffers") > 0 && first.get("heap") > 0, first.toString());
    }

    /**
     * Inference keeps two steps' arrays, not every step's as training must for its backward pass: after training
     * at a minibatch of 6, an inference pass at 24 over 60 steps grows the heap arrays less than half as much as a
     * training forward pass does (both grow the input products, 4 of training's 11 arrays of every step). Its
     * outputs are DL4J's (checked against DL4J's own LSTM by WorkerKernelTest's evaluation test).
     */
    @Test
    void inferenceKeepsTwoStepsOfArrays() {
        long[] growth = new long[2];
        for (boolean training : new boolean[] {false, true}) {
            MultiLayerNetwork net = new MultiLayerNetwork(stacked(DataType.FLOAT).clone());
            net.init();
            FastLstm.install(net);
            net.fit(Nd4j.rand(DataType.FLOAT, 6, 5, 60), stepLabels(DataType.FLOAT, 6, 4, 60));
            long before = net.getLayer(0).getHelper().helperMemoryUse().get("heap");
            net.output(Nd4j.rand(DataType.FLOAT, 24, 5, 60), training);
            growth[training ? 1 : 0] = net.getLayer(0).getHelper().helperMemoryUse().get("heap") - before;
        }
        assertTrue(growth[0] > 0 && growth[0] < growth[1] / 2, java.util.Arrays.toString(growth));
    }

    /**
     * DL4J's LSTM asks for its forward pass again in the backward pass; the helper gives it the training forward
     * pass it just made, so a training step computes one.
     */
    @Test
    void aTrainingStepComputesOneForwardPass() {
        MultiLayerNetwork net = new MultiLayerNetwork(stacked(DataType.FLOAT).clone());
        net.init();
        FastLstm.install(net);
        FastLstm helper = (FastLstm) net.getLayer(0).getHelper();
        net.fit(Nd4j.rand(DataType.FLOAT, 6, 5, 9), stepLabels(DataType.FLOAT, 6, 4, 9));
        assertEquals(1, helper.forwardPasses());
    }

    /** The reused forward pass is only ever the one made on the input the backward pass is given. */
    @Test
    void aBackwardPassOnAnotherInputComputesItsOwnForwardPass() {
        MultiLayerNetwork dl4j = new MultiLayerNetwork(stacked(DataType.FLOAT));
        dl4j.init();
        dl4j.initGradientsView();
        MultiLayerNetwork fast = new MultiLayerNetwork(stacked(DataType.FLOAT));
        fast.init(dl4j.params().dup(), true);
        fast.initGradientsView();
        FastLstm.install(fast);
        LayerWorkspaceMgr noWorkspaces = LayerWorkspaceMgr.noWorkspaces();
        INDArray other = Nd4j.rand(DataType.FLOAT, 4, 5, 6);
        INDArray input = Nd4j.rand(DataType.FLOAT, 4, 5, 6);
        INDArray epsilon = Nd4j.rand(DataType.FLOAT, 4, 7, 6);
        org.deeplearning4j.nn.api.Layer actual = fast.getLayer(0);
        actual.setInput(other, noWorkspaces);
        actual.activate(true, noWorkspaces);
        actual.setInput(input, noWorkspaces);
        INDArray actualEpsilon = actual.backpropGradient(epsilon, noWorkspaces).getSecond();
        org.deeplearning4j.nn.api.Layer expected = dl4j.getLayer(0);
        expected.setInput(input, noWorkspaces);
        expected.activate(true, noWorkspaces);
        INDArray expectedEpsilon = expected.backpropGradient(epsilon, noWorkspaces).getSecond();
        Rounding.assertClose("input gradient", Dl4jEquality.floats(expectedEpsilon),
                Dl4jEquality.floats(actualEpsilon));
        Rounding.assertClose("weight gradients", Dl4jEquality.floats(expected.getGradientsViewArray()),
                Dl4jEquality.floats(actual.getGradientsViewArray()));
        assertEquals(2, ((FastLstm) actual.getHelper()).forwardPasses());
    }

    @Test
    void theLstmClassifierMatchesDl4jsBuiltInPath() {
        ModelConfig model = new ModelConfig(ModelType.LSTM_CLASSIFIER, List.of(),
                dev.shoal.kernel.config.Activation.RELU, dev.shoal.kernel.config.WeightInit.XAVIER, 0, 0, 0,
                dev.shoal.kernel.config.Loss.MCXENT, List.of(1), 8, 12, 1, "", 0, 0, "", "");
        MultiLayerConfiguration conf = NetworkFactory.build(model, KernelFixtures.optimizer(UpdaterType.ADAM),
                InputShape.sequence(10, 30), 3, 5);
        assertSameAsDl4j(conf, KernelFixtures.tokens(7, 10, 30), KernelFixtures.oneHot(DataType.FLOAT, 7, 3), 1);
    }

    @Test
    void maskedSequencesFallBackToDl4jsOwnPathWithTheSameResults() {
        MultiLayerNetwork dl4j = new MultiLayerNetwork(stacked(DataType.FLOAT));
        dl4j.init();
        MultiLayerNetwork fast = new MultiLayerNetwork(stacked(DataType.FLOAT));
        fast.init(dl4j.params().dup(), true);
        FastLstm.install(fast);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 5, 6);
        INDArray mask = Nd4j.ones(DataType.FLOAT, 4, 6);
        mask.get(NDArrayIndex.point(1), NDArrayIndex.interval(3, 6)).assign(0); // the second sequence is shorter
        INDArray y = stepLabels(DataType.FLOAT, 4, 4, 6);
        for (MultiLayerNetwork net : List.of(dl4j, fast)) {
            net.setInput(x);
            net.setLabels(y);
            net.setLayerMaskArrays(mask, mask);
            net.computeGradientAndScore();
        }
        assertEquals(dl4j.gradient().gradient(), fast.gradient().gradient());
        assertEquals(dl4j.score(), fast.score());
    }

    @Test
    void passesDl4jsNumericalGradientCheckInDoublePrecision() {
        MultiLayerNetwork net = new MultiLayerNetwork(stacked(DataType.DOUBLE));
        net.init();
        assertEquals(2, FastLstm.install(net));
        INDArray x = Nd4j.rand(DataType.DOUBLE, 3, 5, 4).subi(0.5);
        Dl4jEquality.assertGradientCheckPasses(net, x, stepLabels(DataType.DOUBLE, 3, 4, 4));
        assertTrue(net.getLayer(0).getHelper().helperMemoryUse().get("buffers") > 0, "the helper ran");
    }
}
