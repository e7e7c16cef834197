package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import dev.shoal.kernel.testing.Rounding;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.junit.jupiter.api.Test;

/** The fast dense path computes DL4J's own gradient and score, and leaves what it does not cover to DL4J. */
class DenseBackpropTest {
    private static final OptimizerConfig SGD = new OptimizerConfig(UpdaterType.SGD, 0.1, 0.9, 0.9, 0.999, 0.95,
            1e-8, new ScheduleConfig(ScheduleType.NONE, 1, 1));

    private static MultiLayerNetwork network(ModelConfig model, InputShape input, int classes) {
        MultiLayerConfiguration conf = NetworkFactory.build(model, SGD, input, classes, 5);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.initGradientsView();
        return net;
    }

    private static ModelConfig mlp(Activation activation, double dropout, double l1, double l2, Loss loss) {
        return new ModelConfig(ModelType.MLP, List.of(16, 12), activation, WeightInit.RELU, dropout, l1, l2, loss);
    }

    @ParameterizedTest
    @CsvSource({"RELU, MCXENT, 0, 0", "TANH, MCXENT, 0.001, 0.01", "LEAKYRELU, MSE, 0, 0.001", "SIGMOID, MSE, 0, 0",
            "ELU, MCXENT, 0, 0.0001"})
    void gradientAndScoreEqualDl4jsOwn(Activation activation, Loss loss, double l1, double l2) {
        ModelConfig model = mlp(activation, 0, l1, l2, loss);
        MultiLayerNetwork fast = network(model, InputShape.vector(20), 5);
        MultiLayerNetwork reference = network(model, InputShape.vector(20), 5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 33, 20).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 33, 5);
        for (int r = 0; r < 33; r++) {
            y.putScalar(r, (r * 7) % 5, 1);
        }

        double score = DenseBackprop.of(fast).compute(x, y) + fast.calcRegularizationScore(true);
        reference.setInput(x);
        reference.setLabels(y);
        reference.computeGradientAndScore();

        Rounding.assertClose("score", reference.score(), score);
        Rounding.assertClose("gradient", reference.getFlattenedGradients().toFloatVector(),
                fast.getFlattenedGradients().toFloatVector());
    }

    @Test
    void networksItDoesNotCoverAreLeftToDl4j() {
        assertNotNull(DenseBackprop.of(network(mlp(Activation.RELU, 0, 0, 0, Loss.MCXENT), InputShape.vector(20), 5)));
        assertNull(DenseBackprop.of(network(mlp(Activation.RELU, 0.2, 0, 0, Loss.MCXENT), InputShape.vector(20), 5)),
                "dropout");
        ModelConfig lenet = new ModelConfig(ModelType.LENET, List.of(10), Activation.RELU, WeightInit.RELU, 0, 0, 0,
                Loss.MCXENT);
        assertNull(DenseBackprop.of(network(lenet, new InputShape(16, 16, 1), 3)), "convolutions");
    }
}
