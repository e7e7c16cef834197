package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.testing.Rounding;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * Keras models in HDF5: the checked-in {@code keras/mlp.h5} (784 -> 16 tanh -> 10 softmax, written by
 * {@code keras/make_fixture.py} in the layout Keras 2 saves) imports with its weights and trains on;
 * {@code keras/linear.h5} (12 -> 3, no softmax) is refused as a classifier.
 */
class KerasImportTest {
    private static final int PIXELS = 784;
    private static final int CLASSES = 10;

    @TempDir
    Path dir;

    static Path fixture(String name) {
        try {
            return Path.of(KerasImportTest.class.getResource("/keras/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theImportedModelGivesTheOutputsKerasArithmeticGives() throws IOException {
        MultiLayerNetwork net = NetworkFiles.importKeras(fixture("mlp.h5").toString(), "model.keras");
        JsonNode expected = new ObjectMapper().readTree(fixture("mlp.expected.json").toFile());
        INDArray outputs = net.output(matrix(expected.get("inputs")));
        INDArray numpy = matrix(expected.get("outputs"));
        assertEquals(DataType.FLOAT, outputs.dataType());
        assertArrayEquals(numpy.shape(), outputs.shape());
        Rounding.assertClose("outputs against numpy's", Dl4jEquality.floats(numpy), Dl4jEquality.floats(outputs));
    }

    @Test
    void aKerasModelTrainsOnWithThePlansOptimizerStartingFromItsWeights() {
        MultiLayerNetwork imported = NetworkFiles.importKeras(fixture("mlp.h5").toString(), "model.keras");
        MultiLayerNetwork net = NetworkFiles.keras(fixture("mlp.h5").toString(),
                KernelFixtures.optimizer(UpdaterType.SGD), InputShape.vector(PIXELS), CLASSES, 7);
        assertEquals(imported.params(), net.params(), "the file's weights");
        assertTrue(((BaseLayer) net.getLayer(0).conf().getLayer()).getIUpdater() instanceof Sgd,
                "the plan's optimizer, not the file's Adam");

        // Executors build it from its JSON and start from its weights, as for every run.
        String json = net.getLayerWiseConfigurations().toJson();
        assertEquals(MultiLayerConfiguration.fromJson(json), net.getLayerWiseConfigurations());
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot start = new ModelSnapshot(net.params().toFloatVector(), kernel.snapshot().updaterState(), 0, 0);
        ExampleBlock block = images(512);
        double before = kernel.evaluate(start, block.batches(1, 128, 0, Integer.MAX_VALUE)).meanLoss();
        for (int epoch = 0; epoch < 5; epoch++) {
            kernel.train(epoch == 0 ? start : kernel.snapshot(), block.batches(epoch, 32, 0, Integer.MAX_VALUE));
        }
        double after = kernel.evaluate(kernel.snapshot(), block.batches(1, 128, 0, Integer.MAX_VALUE)).meanLoss();
        assertTrue(after < before / 2, "loss " + before + " -> " + after);
    }

    @Test
    void filesThatAreNotKerasModelsOrDoNotFitTheDataAreRefusedNamingTheKey() throws IOException {
        String h5 = fixture("mlp.h5").toString();
        assertEquals("model.keras = " + h5 + ": has 10 outputs but data.classes is 3", assertThrows(
                ConfigException.class, () -> NetworkFiles.keras(h5, KernelFixtures.optimizer(UpdaterType.SGD),
                        InputShape.vector(PIXELS), 3, 7)).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> NetworkFiles.keras(h5,
                KernelFixtures.optimizer(UpdaterType.SGD), InputShape.vector(12), CLASSES, 7)).getMessage()
                .startsWith("model.keras = " + h5 + ": cannot read the data's examples (12): "));

        String linear = fixture("linear.h5").toString();
        assertEquals("model.keras = " + linear + ": ends in a DenseLayer without softmax; Shoal trains Keras "
                + "classifiers whose last layer is a softmax Dense", assertThrows(ConfigException.class,
                        () -> NetworkFiles.keras(linear, KernelFixtures.optimizer(UpdaterType.SGD),
                                InputShape.vector(12), 3, 7)).getMessage());

        Path zip = Files.write(dir.resolve("model.keras"), new byte[] {'P', 'K', 3, 4, 0, 0});
        assertEquals("model.keras = " + zip + ": is not an HDF5 file; save the Keras model with "
                + "model.save(\"model.h5\") (Keras 3's .keras archives cannot be imported)", assertThrows(
                ConfigException.class, () -> NetworkFiles.importKeras(zip.toString(), "model.keras")).getMessage());

        byte[] whole = Files.readAllBytes(fixture("mlp.h5"));
        Path truncated = Files.write(dir.resolve("truncated.h5"), Arrays.copyOf(whole, 4096));
        assertTrue(assertThrows(ConfigException.class, () -> NetworkFiles.importKeras(truncated.toString(),
                "model.base")).getMessage().startsWith("model.base = " + truncated
                + ": is not a Keras Sequential model that DL4J can import: "));

        Path missing = dir.resolve("missing.h5");
        assertTrue(assertThrows(ConfigException.class, () -> NetworkFiles.importKeras(missing.toString(),
                "model.keras")).getMessage().startsWith("model.keras = " + missing + ": cannot be read: "));
    }

    private static INDArray matrix(JsonNode rows) {
        float[][] values = new float[rows.size()][];
        for (int r = 0; r < rows.size(); r++) {
            values[r] = new float[rows.get(r).size()];
            for (int c = 0; c < values[r].length; c++) {
                values[r][c] = (float) rows.get(r).get(c).asDouble();
            }
        }
        return Nd4j.create(values);
    }

    /** Images whose class is the brightest of ten bands of rows, with noise. */
    private static ExampleBlock images(int n) {
        java.util.Random random = new java.util.Random(5);
        float[] features = new float[n * PIXELS];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = random.nextInt(CLASSES);
            for (int p = 0; p < PIXELS; p++) {
                boolean band = p / 28 / 3 == labels[i];
                features[i * PIXELS + p] = (float) ((band ? 0.7 : 0.1) + 0.2 * random.nextDouble());
            }
        }
        return new ExampleBlock(features, labels, PIXELS, CLASSES);
    }
}
