package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;

/** A trained model turned into the start of a new run: frozen layers stay as trained, a new output layer learns. */
class NetworkFilesTest {

    /** The fixture's MLP (6 -> 8 -> 3) after one epoch on the fixture's data. */
    private static MultiLayerNetwork trainedBase() {
        WorkerKernel kernel = new WorkerKernel(KernelFixtures.networkJson(UpdaterType.ADAM));
        kernel.train(kernel.snapshot(), KernelFixtures.block(256, 1).batches(1, 32, 0, Integer.MAX_VALUE));
        return kernel.network(kernel.snapshot()).clone();
    }

    @Test
    void theFrozenLayerKeepsItsTrainedWeightsThroughTrainingAndTheNewOutputLayerLearns() {
        MultiLayerNetwork base = trainedBase();
        MultiLayerNetwork tuned = fineTune(base, 0, 1, InputShape.vector(KernelFixtures.FEATURES), 5, 3);
        assertEquals(5, tuned.getOutputLayer().getParam("W").size(1), "a new output layer for 5 classes");
        assertEquals(base.getLayer(0).params(), tuned.getLayer(0).params(), "the first layer as trained");

        // Executors build the network from its JSON, as they do for every run.
        String json = tuned.getLayerWiseConfigurations().toJson();
        assertEquals(MultiLayerConfiguration.fromJson(json), tuned.getLayerWiseConfigurations());
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot start = new ModelSnapshot(tuned.params().toFloatVector(),
                kernel.snapshot().updaterState(), 0, 0);
        int firstLayer = (int) base.getLayer(0).numParams();
        kernel.train(start, relabelled(KernelFixtures.block(128, 2)).batches(1, 32, 0, Integer.MAX_VALUE));
        float[] after = kernel.snapshot().params();
        assertArrayEquals(Arrays.copyOf(start.params(), firstLayer), Arrays.copyOf(after, firstLayer));
        assertFalse(Arrays.equals(start.params(), after), "the output layer trained");
    }

    @Test
    void theNewOutputLayerStartsAfreshEvenWhenItHasTheOldOnesShape() {
        MultiLayerNetwork base = trainedBase();
        MultiLayerNetwork tuned = fineTune(base, 0, 1, InputShape.vector(KernelFixtures.FEATURES),
                KernelFixtures.CLASSES, 3);
        assertEquals(base.getOutputLayer().numParams(), tuned.getOutputLayer().numParams());
        assertNotEquals(base.getOutputLayer().params(), tuned.getOutputLayer().params());
        assertEquals(base.getLayer(0).params(), tuned.getLayer(0).params());
    }

    @Test
    void freezingTheOutputLayerOrABaseThatCannotReadTheDataIsRefusedNamingTheKey() {
        MultiLayerNetwork base = trainedBase();
        ConfigException freeze = assertThrows(ConfigException.class,
                () -> fineTune(base, 0, 2, InputShape.vector(KernelFixtures.FEATURES), 5, 3));
        assertEquals("model.freeze = 2: must be at most the 1 layers kept of base.zip: the new output layer is "
                + "trained", freeze.getMessage());
        ConfigException input = assertThrows(ConfigException.class,
                () -> fineTune(base, 0, 1, InputShape.vector(784), 5, 3));
        assertTrue(input.getMessage().startsWith("model.base = base.zip: cannot read the data's examples (784): "),
                input.getMessage());
    }

    @Test
    void aDl4jJsonConfigurationIsTakenAsItIsWhenItFitsTheData() {
        String json = KernelFixtures.networkJson(UpdaterType.SGD);
        MultiLayerConfiguration conf = NetworkFiles.fromJson(json, "net.json",
                InputShape.vector(KernelFixtures.FEATURES), KernelFixtures.CLASSES);
        MultiLayerNetwork expected = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        expected.init(); // which records each layer's parameter names in the configuration, as the check did
        assertEquals(expected.getLayerWiseConfigurations(), conf);

        assertEquals("model.json = net.json: has 3 outputs but data.classes is 10", assertThrows(
                ConfigException.class, () -> NetworkFiles.fromJson(json, "net.json",
                        InputShape.vector(KernelFixtures.FEATURES), 10)).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> NetworkFiles.fromJson(json, "net.json",
                InputShape.vector(784), KernelFixtures.CLASSES)).getMessage()
                .startsWith("model.json = net.json: cannot read the data's examples (784): "));
        assertTrue(assertThrows(ConfigException.class, () -> NetworkFiles.fromJson("{\"layers\": 3", "net.json",
                InputShape.vector(KernelFixtures.FEATURES), KernelFixtures.CLASSES)).getMessage()
                .startsWith("model.json = net.json: is not a DL4J MultiLayerConfiguration in JSON: "));
        String doubles = json.replace("\"dataType\" : \"FLOAT\"", "\"dataType\" : \"DOUBLE\"");
        assertEquals("model.json = net.json: has data type DOUBLE; Shoal trains FLOAT networks", assertThrows(
                ConfigException.class, () -> NetworkFiles.fromJson(doubles, "net.json",
                        InputShape.vector(KernelFixtures.FEATURES), KernelFixtures.CLASSES)).getMessage());
    }

    @Test
    void anAutoencodersEncoderIsKeptWithoutItsDecoder() {
        ModelConfig autoencoder = new ModelConfig(ModelType.AUTOENCODER, List.of(8, 4), Activation.RELU,
                WeightInit.RELU, 0, 0, 0, Loss.MSE);
        MultiLayerNetwork base = new MultiLayerNetwork(NetworkFactory.build(autoencoder,
                KernelFixtures.optimizer(UpdaterType.ADAM), InputShape.vector(KernelFixtures.FEATURES), 2, 1));
        base.init();
        MultiLayerNetwork tuned = fineTune(base, 2, 2, InputShape.vector(KernelFixtures.FEATURES), 3, 3);
        assertEquals(3, tuned.getnLayers(), "encoder 6 -> 8 -> 4, then the new output layer");
        assertEquals(4 * 3 + 3, tuned.getOutputLayer().numParams());
        assertEquals(base.getLayer(1).params(), tuned.getLayer(1).params());

        assertEquals("model.freeze = 3: must be at most the 2 layers kept of base.zip: the new output layer is "
                + "trained", assertThrows(ConfigException.class, () -> fineTune(base, 2, 3,
                        InputShape.vector(KernelFixtures.FEATURES), 3, 3)).getMessage());
        assertEquals("model.keep = 4: must be less than the 4 layers of base.zip: its output layer is replaced",
                assertThrows(ConfigException.class, () -> fineTune(base, 4, 0,
                        InputShape.vector(KernelFixtures.FEATURES), 3, 3)).getMessage());
    }

    private static MultiLayerNetwork fineTune(MultiLayerNetwork base, int keep, int freeze, InputShape input,
                                              int classes, long seed) {
        ModelConfig model = new ModelConfig(ModelType.FINE_TUNE, List.of(), Activation.RELU, WeightInit.RELU, 0, 0,
                0, Loss.MCXENT, List.of(32), 16, 16, 2, "base.zip", keep, freeze, "", "");
        return NetworkFiles.fineTune(model, base, KernelFixtures.optimizer(UpdaterType.ADAM), input, classes, seed);
    }

    /** The same examples with five classes: the fixture's three, and two more split off by the third feature. */
    private static ExampleBlock relabelled(ExampleBlock b) {
        int[] labels = new int[b.size()];
        for (int r = 0; r < b.size(); r++) {
            labels[r] = b.labels()[r] + (b.feature(r * KernelFixtures.FEATURES + 2) > 1 ? 3 : 0);
            labels[r] = Math.min(labels[r], 4);
        }
        return new ExampleBlock(b.features(), labels, KernelFixtures.FEATURES, 5);
    }
}
