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
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;

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
        String json = NetworkFactory.build(lenet(List.of(32)), ADAM, new InputShape(16, 16, 1), 2, 3).toJson();
        WorkerKernel kernel = new WorkerKernel(json);
        ExampleBlock block = squares(256, 4);
        ModelSnapshot model = kernel.snapshot();
        double before = kernel.evaluate(model, block.batches(1, 64, 0, Integer.MAX_VALUE)).meanLoss();
        for (int epoch = 0; epoch < 3; epoch++) {
            kernel.train(model, block.batches(epoch, 32, 0, Integer.MAX_VALUE));
            model = kernel.snapshot();
        }
        EvalResult after = kernel.evaluate(model, block.batches(1, 64, 0, Integer.MAX_VALUE));
        assertTrue(after.meanLoss() < before / 2, "loss " + before + " -> " + after.meanLoss());
        assertTrue(after.accuracy() > 0.9, "accuracy " + after.accuracy());
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
