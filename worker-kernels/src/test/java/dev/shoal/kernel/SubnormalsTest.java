package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.KernelOptions;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SubnormalsTest {
    private static final int FEATURES = KernelFixtures.FEATURES;
    private static final int HIDDEN = 8;
    /** A subnormal value: the last input feature's weights are set to it (or its negative). */
    private static final float TINY = Float.MIN_NORMAL / 3;

    @Test
    void subnormalsBecomeZerosOfTheirSignAndNothingElseChanges() {
        float[] values = {Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL / 2, -Float.MIN_NORMAL * 0.99f,
            Float.MIN_NORMAL, -Float.MIN_NORMAL, 0f, -0f, 1e-30f, -3.5f, Float.NaN, Float.NEGATIVE_INFINITY};
        float[] expected = {0f, -0f, 0f, -0f,
            Float.MIN_NORMAL, -Float.MIN_NORMAL, 0f, -0f, 1e-30f, -3.5f, Float.NaN, Float.NEGATIVE_INFINITY};

        FloatBuffer direct = ByteBuffer.allocateDirect(4 * (values.length + 2)).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        direct.put(0, -Float.MIN_VALUE).put(values.length + 1, Float.MIN_VALUE).put(1, values);
        // A scratch smaller than the buffer: the buffer goes through in chunks; only [1, n] is the buffer's range.
        assertEquals(4, Subnormals.flush(direct.slice(1, values.length), new float[5]));
        float[] flushedInPlace = new float[values.length];
        direct.get(1, flushedInPlace);
        assertArrayEquals(expected, flushedInPlace, "bit for bit, signs of zeros included");
        assertEquals(-Float.MIN_VALUE, direct.get(0), "outside the buffer's range: untouched");
        assertEquals(Float.MIN_VALUE, direct.get(values.length + 1), "outside the buffer's range: untouched");

        assertEquals(4, Subnormals.flush(values));
        assertArrayEquals(expected, values);
        assertEquals(0, Subnormals.flush(values), "nothing left to flush");
    }

    /**
     * A kernel flushes when its iteration counter reaches a multiple of {@link Subnormals#EVERY}: not after 15
     * steps, after 16, and never with {@code kernel.flush-subnormals} off. Without L2, the weights of a feature
     * that is zero in every example get a zero gradient, which leaves them (and their Adam moments, zero too)
     * exactly as they are: only the flush can change them. SGD goes through DL4J's updater, Adam through the
     * fused step ({@link AdamStep}).
     */
    @ParameterizedTest
    @CsvSource({"SGD, true", "SGD, false", "ADAM, true", "ADAM, false"})
    void aKernelFlushesAtEverySixteenthStep(UpdaterType updater, boolean flush) {
        String json = network(updater);
        KernelOptions options = new KernelOptions(true, true, true, true, true, true, true, flush);
        WorkerKernel kernel = new WorkerKernel(json, Target.CLASS, options);
        assertEquals(updater == UpdaterType.ADAM, kernel.speedUps().contains("AdamStep"));
        ModelSnapshot start = withTinyWeights(kernel.snapshot());
        ExampleBlock data = KernelFixtures.block(256, 3, FEATURES - 1);

        ModelSnapshot after15 = kernel.train(start, data.batches(1, 16, 0, 15)).average(15, 0);
        assertEquals(HIDDEN, tinyWeights(after15.params()), "no flush before the 16th step");
        ModelSnapshot after16 = kernel.train(after15, data.batches(1, 16, 15, 1)).average(16, 0);
        assertEquals(flush ? 0 : HIDDEN, tinyWeights(after16.params()));
        assertEquals(flush ? 0 : HIDDEN, Subnormals.flush(after16.params().clone()),
                "the tiny weights were the only subnormal parameters");
    }

    /** The fused Adam step flushes its copies of the parameters (and writes them to the network) and the moments. */
    @Test
    void adamStepFlushesParametersAndMoments() {
        MultiLayerNetwork net = new MultiLayerNetwork(org.deeplearning4j.nn.conf.MultiLayerConfiguration
                .fromJson(network(UpdaterType.ADAM)));
        net.init();
        net.initGradientsView();
        AdamStep step = AdamStep.of(net);
        float[] params = net.params().toFloatVector();
        float[] state = new float[2 * params.length];
        params[3] = TINY;
        params[7] = -TINY;
        state[5] = TINY;
        state[params.length + 5] = Float.MIN_VALUE;
        WorkerKernel.floats(net.params()).put(params);
        WorkerKernel.floats(net.getUpdater().getStateViewArray()).put(state);
        step.load();

        step.flushSubnormals();
        step.store();

        float[] expected = params.clone();
        expected[3] = 0f;
        expected[7] = -0f;
        assertArrayEquals(expected, net.params().toFloatVector());
        assertArrayEquals(new float[state.length], net.getUpdater().getStateViewArray().toFloatVector());
    }

    /** A ReLU network without L2: a weight of an input that is always zero has a zero gradient. */
    private static String network(UpdaterType updater) {
        ModelConfig model = new ModelConfig(ModelType.MLP, List.of(HIDDEN), Activation.RELU, WeightInit.RELU, 0, 0,
                0, Loss.MCXENT);
        return NetworkFactory.build(model, KernelFixtures.optimizer(updater), InputShape.vector(FEATURES),
                KernelFixtures.CLASSES, 7).toJson();
    }

    /** The first layer's weights are [features, hidden] in 'f' order: feature f of unit j at f + j * features. */
    private static ModelSnapshot withTinyWeights(ModelSnapshot s) {
        float[] params = s.params().clone();
        for (int j = 0; j < HIDDEN; j++) {
            params[FEATURES - 1 + j * FEATURES] = j % 2 == 0 ? TINY : -TINY;
        }
        return new ModelSnapshot(params, s.updaterState(), s.iteration(), s.epoch());
    }

    private static int tinyWeights(float[] params) {
        int tiny = 0;
        for (int j = 0; j < HIDDEN; j++) {
            float w = params[FEATURES - 1 + j * FEATURES];
            assertTrue(w == 0 || Math.abs(w) == TINY, "weight " + j + " is " + w);
            tiny += w == 0 ? 0 : 1;
        }
        return tiny;
    }
}
