package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.ops.transforms.Transforms;

/** The fused Adam step is DL4J's updater step, and leaves every other update to DL4J. */
class AdamStepTest {
    /** Adam at 0.01, halved every epoch: the schedule is read at each step's epoch. */
    private static final OptimizerConfig ADAM = new OptimizerConfig(UpdaterType.ADAM, 0.01, 0.9, 0.9, 0.999, 0.95,
            1e-8, new ScheduleConfig(ScheduleType.STEP, 0.5, 1));

    private static MultiLayerNetwork network(ModelType type, double l1, double l2, OptimizerConfig optimizer) {
        ModelConfig model = new ModelConfig(type, List.of(12), Activation.RELU, WeightInit.RELU, 0, l1, l2,
                Loss.MCXENT);
        InputShape input = type == ModelType.MLP ? InputShape.vector(20) : new InputShape(16, 16, 1);
        return initialised(NetworkFactory.build(model, optimizer, input, 4, 3));
    }

    private static MultiLayerNetwork initialised(MultiLayerConfiguration conf) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.initGradientsView();
        return net;
    }

    @ParameterizedTest
    @EnumSource(value = ModelType.class, names = {"MLP", "LENET"})
    void stepsAsDl4jsUpdaterDoes(ModelType type) {
        MultiLayerNetwork dl4j = network(type, 0, 0.05, ADAM);
        MultiLayerNetwork fast = network(type, 0, 0.05, ADAM);
        AdamStep step = AdamStep.of(fast);
        assertNotNull(step);
        int n = (int) dl4j.numParams();
        float[] start = dl4j.params().toFloatVector();
        for (int iteration = 0; iteration < 6; iteration++) {
            int epoch = iteration / 2;
            dl4j.getLayerWiseConfigurations().setIterationCount(iteration);
            dl4j.getLayerWiseConfigurations().setEpochCount(epoch);
            fast.getLayerWiseConfigurations().setIterationCount(iteration);
            fast.getLayerWiseConfigurations().setEpochCount(epoch);
            // A gradient summed over 16 examples, with entries of very different sizes.
            INDArray summed = Nd4j.randn(DataType.FLOAT, 1, n)
                    .muli(Transforms.exp(Nd4j.rand(DataType.FLOAT, 1, n).muli(8).subi(4))).muli(16);

            dl4j.getFlattenedGradients().assign(summed);
            dl4j.getUpdater().update(dl4j, new DefaultGradient(dl4j.getFlattenedGradients()), iteration, epoch, 16,
                    LayerWorkspaceMgr.noWorkspaces());
            dl4j.params().subi(dl4j.getFlattenedGradients().reshape(n));
            step.step(summed.toFloatVector(), 16);

            Rounding.assertSameUpdate("parameters after step " + (iteration + 1), start,
                    dl4j.params().toFloatVector(), fast.params().toFloatVector());
        }
        step.store();
        Rounding.assertClose("Adam's state", dl4j.getUpdater().getStateViewArray().toFloatVector(),
                fast.getUpdater().getStateViewArray().toFloatVector());
        Rounding.assertClose("regularization score", dl4j.calcRegularizationScore(true),
                step.regularizationScore());
    }

    /**
     * The score after a step, from the squares the step summed as it went (in chunks), is the score of a pass of
     * its own over the same parameters, to the bit: layers of several chunks and of lengths that are not
     * multiples of the step's four running sums.
     */
    @Test
    void theStepsSumsOfSquaresAreThoseOfAPassOfTheirOwn() {
        ModelConfig model = new ModelConfig(ModelType.MLP, List.of(13), Activation.RELU, WeightInit.RELU, 0, 0,
                0.05, Loss.MCXENT);
        MultiLayerNetwork net = initialised(NetworkFactory.build(model, ADAM, InputShape.vector(2101), 3, 3));
        AdamStep step = AdamStep.of(net);
        assertNotNull(step);
        int n = (int) net.numParams();
        for (int iteration = 0; iteration < 3; iteration++) {
            step.step(Nd4j.randn(DataType.FLOAT, 1, n).muli(16).toFloatVector(), 16);
            double fromTheStep = step.regularizationScore();
            step.store();
            step.load(); // the same parameters: their squares summed anew
            assertEquals(fromTheStep, step.regularizationScore(), "after step " + (iteration + 1));
            Rounding.assertClose("regularization score", net.calcRegularizationScore(true), fromTheStep);
        }
    }

    @Test
    void updatesItDoesNotCoverAreLeftToDl4j() {
        MultiLayerNetwork plain = network(ModelType.MLP, 0, 0, ADAM);
        assertNotNull(AdamStep.of(plain), "Adam without regularization");
        assertNull(AdamStep.of(plain, plain.numParams() - 1), "more parameters than the heap copies may take");
        assertNull(AdamStep.of(network(ModelType.MLP, 0.01, 0, ADAM)), "L1");
        OptimizerConfig sgd = new OptimizerConfig(UpdaterType.SGD, 0.1, 0.9, 0.9, 0.999, 0.95, 1e-8,
                new ScheduleConfig(ScheduleType.NONE, 1, 1));
        assertNull(AdamStep.of(network(ModelType.MLP, 0, 0, sgd)), "SGD");
        MultiLayerConfiguration clipped = new NeuralNetConfiguration.Builder().seed(3).updater(new Adam(0.01))
                .gradientNormalization(GradientNormalization.ClipElementWiseAbsoluteValue).list()
                .layer(new DenseLayer.Builder().nIn(5).nOut(4).build())
                .layer(new OutputLayer.Builder().nIn(4).nOut(3).build()).build();
        assertNull(AdamStep.of(initialised(clipped)), "gradient clipping");
    }
}
