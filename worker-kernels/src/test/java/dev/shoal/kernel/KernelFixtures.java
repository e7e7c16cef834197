package dev.shoal.kernel;

import dev.shoal.kernel.config.Activation;
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

/** Small models and generated data for kernel tests. */
final class KernelFixtures {
    static final int FEATURES = 6;
    static final int CLASSES = 3;

    private KernelFixtures() {
    }

    static String networkJson(UpdaterType updater) {
        return networkJson(updater, 0);
    }

    /** The same network with an L1 penalty too (which Shoal's fused Adam step leaves to DL4J). */
    static String networkJson(UpdaterType updater, double l1) {
        ModelConfig model = new ModelConfig(ModelType.MLP, List.of(8), Activation.TANH, WeightInit.XAVIER, 0, l1, 1e-4,
                Loss.MCXENT);
        return NetworkFactory.build(model, optimizer(updater), InputShape.vector(FEATURES), CLASSES, 7).toJson();
    }

    /** {@code updater} with learning rate 0.05, halved every epoch. */
    static OptimizerConfig optimizer(UpdaterType updater) {
        return new OptimizerConfig(updater, 0.05, 0.9, 0.9, 0.999, 0.95, 1e-8,
                new ScheduleConfig(ScheduleType.STEP, 0.5, 1));
    }

    /** Labels follow the sign pattern of the first features, so a model can learn them. */
    static ExampleBlock block(int rows, long seed) {
        return block(rows, seed, -1);
    }

    /** As {@link #block(int, long)}, with feature {@code zeroed} 0 in every row (none for -1). */
    static ExampleBlock block(int rows, long seed, int zeroed) {
        Random random = new Random(seed);
        float[] x = new float[rows * FEATURES];
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            for (int f = 0; f < FEATURES; f++) {
                float value = (float) random.nextGaussian();
                x[r * FEATURES + f] = f == zeroed ? 0 : value;
            }
            y[r] = x[r * FEATURES] > 0.5 ? 0 : x[r * FEATURES + 1] > 0 ? 1 : 2;
        }
        return new ExampleBlock(x, y, FEATURES, CLASSES);
    }

    /** {@code rows} sequences of {@code steps} token ids below {@code vocabulary}, [rows, steps], as floats. */
    static org.nd4j.linalg.api.ndarray.INDArray tokens(int rows, int steps, int vocabulary) {
        org.nd4j.linalg.api.ndarray.INDArray tokens = org.nd4j.linalg.factory.Nd4j.rand(
                org.nd4j.linalg.api.buffer.DataType.FLOAT, rows, steps).muli(vocabulary);
        org.nd4j.linalg.factory.Nd4j.getExecutioner().exec(
                new org.nd4j.linalg.api.ops.impl.transforms.same.Floor(tokens, tokens));
        return tokens;
    }

    /** One-hot labels, [rows, classes]: row i is class i mod classes. */
    static org.nd4j.linalg.api.ndarray.INDArray oneHot(org.nd4j.linalg.api.buffer.DataType type, int rows,
                                                      int classes) {
        org.nd4j.linalg.api.ndarray.INDArray y = org.nd4j.linalg.factory.Nd4j.zeros(type, rows, classes);
        for (int i = 0; i < rows; i++) {
            y.putScalar(i, i % classes, 1);
        }
        return y;
    }
}
