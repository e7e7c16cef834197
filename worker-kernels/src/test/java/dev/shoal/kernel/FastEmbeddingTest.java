package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import dev.shoal.kernel.testing.Rounding;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@link FastEmbedding} against DL4J's own sequence embedding: the same gradients on the job files' networks and on
 * odd shapes (a token many times in one minibatch, length 1, batch 1), DL4J's path for masked input, several
 * training steps in a row, and DL4J's numerical gradient check in double precision.
 */
class FastEmbeddingTest {

    /** Embedding (vocabulary -> 4), average over time, softmax over 3 classes. */
    private static MultiLayerConfiguration pooled(DataType type, int steps, int vocabulary, IUpdater updater) {
        return new NeuralNetConfiguration.Builder().seed(3).dataType(type).updater(updater)
                .weightInit(org.deeplearning4j.nn.weights.WeightInit.XAVIER).list()
                .layer(new EmbeddingSequenceLayer.Builder().nIn(vocabulary).nOut(4).inputLength(steps).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build())
                .overrideNinUponBuild(false) // the embedding's nIn is the vocabulary, as NetworkFactory keeps it
                .setInputType(InputType.recurrent(1, steps)).build();
    }

    private static MultiLayerNetwork[] dl4jAndFast(MultiLayerConfiguration conf) {
        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init();
        MultiLayerNetwork fast = new MultiLayerNetwork(conf.clone());
        fast.init(dl4j.params().dup(), true);
        assertEquals(1, FastEmbedding.install(fast));
        FastEmbedding layer = assertInstanceOf(FastEmbedding.class, fast.getLayer(0));
        assertTrue(layer.covered(), "Shoal computes the gradient, not DL4J");
        return new MultiLayerNetwork[] {dl4j, fast};
    }

    /** The three token models of the job files, as NetworkFactory builds them. */
    @ParameterizedTest
    @EnumSource(value = ModelType.class, names = {"LSTM_CLASSIFIER", "ATTENTION_CLASSIFIER", "CHAR_LSTM"})
    void theJobFilesTokenModelsMatchDl4j(ModelType type) {
        ModelConfig model = new ModelConfig(type, type == ModelType.CHAR_LSTM ? List.of(6) : List.of(), Activation.RELU,
                WeightInit.XAVIER, 0, 0, 0, Loss.MCXENT, List.of(1), 8, 12, 4, "", 0, 0, "", "");
        int steps = 10;
        int vocabulary = 30;
        MultiLayerConfiguration conf = NetworkFactory.build(model, KernelFixtures.optimizer(UpdaterType.ADAM),
                InputShape.sequence(steps, vocabulary), 3, 5);
        INDArray x = KernelFixtures.tokens(7, steps, vocabulary);
        INDArray y = type == ModelType.CHAR_LSTM ? Nd4j.rand(DataType.FLOAT, 7, 3, steps)
                : KernelFixtures.oneHot(DataType.FLOAT, 7, 3);
        MultiLayerNetwork[] nets = dl4jAndFast(conf);
        // DL4J's attention layer passes twice the true gradient down (FastAttentionTest): both nets use it here.
        Dl4jEquality.assertSameAs(nets[0], nets[1], x, y);
    }

    /**
     * One token, one example, and a vocabulary of two, where every token recurs many times in the minibatch and
     * its gradient rows must be summed.
     */
    @ParameterizedTest(name = "batch {0}, {1} steps, vocabulary {2}")
    @CsvSource({"1, 1, 5", "4, 1, 6", "1, 9, 7", "6, 8, 2", "3, 5, 40"})
    void oddShapesMatchDl4j(int batch, int steps, int vocabulary) {
        MultiLayerNetwork[] nets = dl4jAndFast(pooled(DataType.FLOAT, steps, vocabulary, new NoOp()));
        Dl4jEquality.assertSameAs(nets[0], nets[1], KernelFixtures.tokens(batch, steps, vocabulary),
                KernelFixtures.oneHot(DataType.FLOAT, batch, 3));
    }

    @Test
    void maskedSequencesFallBackToDl4jsOwnPath() {
        MultiLayerNetwork[] nets = dl4jAndFast(pooled(DataType.FLOAT, 6, 9, new NoOp()));
        INDArray x = KernelFixtures.tokens(4, 6, 9);
        INDArray mask = Nd4j.ones(DataType.FLOAT, 4, 6);
        mask.get(NDArrayIndex.point(2), NDArrayIndex.interval(0, 4)).assign(0);
        for (MultiLayerNetwork net : nets) {
            net.setInput(x);
            net.setLabels(KernelFixtures.oneHot(DataType.FLOAT, 4, 3));
            net.setLayerMaskArrays(mask, null);
            net.computeGradientAndScore();
        }
        assertEquals(nets[0].gradient().gradient(), nets[1].gradient().gradient());
    }

    /**
     * Several steps through fit, each minibatch with other tokens out of a vocabulary larger than a minibatch:
     * nothing of one step (its lookup, the update the updater leaves in the gradient's rows) stays for the next.
     */
    @Test
    void trainsLikeDl4j() {
        MultiLayerNetwork[] nets = dl4jAndFast(pooled(DataType.FLOAT, 7, 60, new Adam(0.05)));
        INDArray start = nets[0].params().dup();
        for (int i = 0; i < 4; i++) {
            INDArray x = KernelFixtures.tokens(5, 7, 60);
            for (MultiLayerNetwork net : nets) {
                net.fit(x, KernelFixtures.oneHot(DataType.FLOAT, 5, 3));
            }
        }
        Rounding.assertSameUpdate("parameters", Dl4jEquality.floats(start), Dl4jEquality.floats(nets[0].params()),
                Dl4jEquality.floats(nets[1].params()));
    }

    @Test
    void passesDl4jsNumericalGradientCheckInDoublePrecision() {
        MultiLayerNetwork net = new MultiLayerNetwork(pooled(DataType.DOUBLE, 5, 4, new NoOp()));
        net.init();
        assertEquals(1, FastEmbedding.install(net));
        INDArray x = KernelFixtures.tokens(3, 5, 4).castTo(DataType.DOUBLE);
        Dl4jEquality.assertGradientCheckPasses(net, x, KernelFixtures.oneHot(DataType.DOUBLE, 3, 3));
    }
}
