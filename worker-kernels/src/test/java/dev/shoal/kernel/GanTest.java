package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A GAN trained by the kernel: the generator's images come to look like the data; its state round-trips. */
class GanTest {
    private static final InputShape SHAPE = new InputShape(6, 6, 1);

    private static String json() {
        ModelConfig gan = new ModelConfig(ModelType.GAN, List.of(32), Activation.RELU, WeightInit.XAVIER, 0, 0, 0,
                Loss.MCXENT, List.of(32), 16, 8, 2, "", 0, 0, "", "");
        OptimizerConfig adam = new OptimizerConfig(UpdaterType.ADAM, 0.005, 0.9, 0.5, 0.999, 0.95, 1e-8,
                new ScheduleConfig(ScheduleType.NONE, 1, 1));
        return NetworkFactory.build(gan, adam, SHAPE, 2, 3).toJson();
    }

    /** Images whose top half is bright (0.8 to 1) and bottom half dark (0 to 0.2). */
    private static ExampleBlock images(int n) {
        Random random = new Random(5);
        float[] x = new float[n * 36];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < 36; p++) {
                x[i * 36 + p] = (p < 18 ? 0.8f : 0f) + 0.2f * random.nextFloat();
            }
        }
        return new ExampleBlock(x, new int[n], 36, 2);
    }

    /** Mean brightness of the top half minus the bottom half, over generated images. */
    private static double contrast(WorkerKernel kernel) {
        MultiLayerNetwork net = kernel.network(kernel.snapshot());
        Gan gan = Gan.of(net);
        INDArray images = gan.generate(200);
        double top = images.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 18)).meanNumber().doubleValue();
        double bottom = images.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(18, 36)).meanNumber().doubleValue();
        return top - bottom;
    }

    @Test
    void theGeneratorLearnsToDrawWhatTheDataLooksLike() {
        WorkerKernel kernel = new WorkerKernel(json(), Target.IMAGES);
        kernel.seedRandom(1);
        ExampleBlock data = images(256);
        double before = contrast(kernel);
        ModelSnapshot model = kernel.snapshot();
        for (int epoch = 0; epoch < 20; epoch++) {
            kernel.train(model, data.batches(epoch, 32, 0, Integer.MAX_VALUE));
            model = kernel.snapshot();
        }
        double after = contrast(kernel);
        assertTrue(Math.abs(before) < 0.2 && after > 0.5, "top minus bottom brightness " + before + " -> " + after);
        EvalResult eval = kernel.evaluate(model, data.inOrder(64));
        assertTrue(Double.isNaN(eval.accuracy()) && Double.isFinite(eval.meanLoss()), eval.toString());
    }

    @Test
    void bothUpdaterStatesTravelInTheSnapshot() {
        WorkerKernel kernel = new WorkerKernel(json(), Target.IMAGES);
        kernel.train(kernel.snapshot(), images(64).batches(1, 16, 0, Integer.MAX_VALUE));
        ModelSnapshot trained = kernel.snapshot();
        MultiLayerNetwork net = kernel.network(trained);
        long generatorState = net.getUpdater().getStateViewArray().length();
        assertTrue(trained.updaterState().length > generatorState, "the discriminator's Adam state is there too");

        WorkerKernel other = new WorkerKernel(json(), Target.IMAGES);
        other.start(trained);
        assertArrayEquals(trained.updaterState(), other.snapshot().updaterState());
        assertArrayEquals(trained.params(), other.snapshot().params());
        assertEquals(trained.iteration(), other.snapshot().iteration());
    }

    @Test
    void theSavedModelReloadsAndGeneratesTheSameImages(@TempDir Path dir) throws Exception {
        WorkerKernel kernel = new WorkerKernel(json(), Target.IMAGES);
        kernel.train(kernel.snapshot(), images(64).batches(1, 16, 0, Integer.MAX_VALUE));
        MultiLayerNetwork trained = kernel.network(kernel.snapshot());
        File saved = dir.resolve("model.zip").toFile();
        ModelSerializer.writeModel(trained, saved, true);

        MultiLayerNetwork loaded = ModelSerializer.restoreMultiLayerNetwork(saved, true);
        INDArray noise = Nd4j.randn(DataType.FLOAT, 5, 8);
        int generator = Gan.of(trained).generatorLayers();
        assertEquals(trained.activateSelectedLayers(0, generator - 1, noise),
                loaded.activateSelectedLayers(0, generator - 1, noise));
    }
}
