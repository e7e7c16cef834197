package dev.shoal.driver.run;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.NetworkFiles;
import dev.shoal.kernel.NetworkFactory;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.ModelConfig;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/**
 * The network a plan trains and the model a fresh run starts from: a new network of the zoo, initialised from the
 * seed; a DL4J configuration from a JSON file, initialised as it says; a Keras model with its weights; or a saved
 * (DL4J or Keras) model prepared for fine-tuning.
 *
 * @param networkJson the network's DL4J configuration, as executors build it
 * @param kernel      a kernel of that network on the driver
 * @param fresh       the starting parameters, with a fresh optimizer state
 */
record StartingModel(String networkJson, WorkerKernel kernel, ModelSnapshot fresh) {

    /**
     * The plan's network for examples of {@code input} in {@code classes} classes, starting from the parameters of
     * {@code training.warm-start} when it names a model.
     */
    static StartingModel of(TrainingPlan plan, InputShape input, int classes) {
        StartingModel built = built(plan, input, classes);
        String warmStart = plan.training().warmStart();
        return warmStart.isEmpty() ? built : built.warmStartedFrom(warmStart);
    }

    private static StartingModel built(TrainingPlan plan, InputShape input, int classes) {
        ModelConfig m = plan.model();
        long seed = plan.training().seed();
        return switch (m.type()) {
            case FINE_TUNE -> trained(NetworkFiles.fineTune(m, load(m.base()), plan.optimizer(), input, classes,
                    seed), plan);
            case KERAS -> trained(NetworkFiles.keras(m.keras(), plan.optimizer(), input, classes, seed), plan);
            case DL4J_JSON -> fresh(NetworkFiles.fromJson(read(m.json()), m.json(), input, classes).toJson(), plan);
            default -> fresh(NetworkFactory.build(m, plan.optimizer(), input, classes, seed).toJson(), plan);
        };
    }

    /** The network of {@code json} as its own initialisation leaves it. */
    private static StartingModel fresh(String json, TrainingPlan plan) {
        WorkerKernel kernel = new WorkerKernel(json, plan.model().type().target(), plan.kernel());
        return new StartingModel(json, kernel, kernel.snapshot());
    }

    /** {@code net} with the parameters it has (trained before, in a file), and a fresh optimizer state. */
    private static StartingModel trained(MultiLayerNetwork net, TrainingPlan plan) {
        // The kernel initialises the network as its configuration says; the run starts from the file's trained
        // parameters instead, with the kernel's fresh updater state.
        StartingModel built = fresh(net.getLayerWiseConfigurations().toJson(), plan);
        return new StartingModel(built.networkJson(), built.kernel(),
                new ModelSnapshot(net.params().toFloatVector(), built.fresh().updaterState(), 0, 0));
    }

    /**
     * This network with the parameters of the saved model in {@code path} and a fresh optimizer state. The saved
     * model must be this network: the same layers with the same parameter shapes.
     */
    private StartingModel warmStartedFrom(String path) {
        MultiLayerNetwork saved;
        try {
            saved = ModelSerializer.restoreMultiLayerNetwork(new File(path), false);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("training.warm-start", path, "is not a saved DL4J model (model.zip): "
                    + e.getMessage());
        }
        MultiLayerNetwork own = kernel.network(fresh);
        Map<String, List<Long>> expected = shapes(own);
        Map<String, List<Long>> found = shapes(saved);
        if (!expected.equals(found)) {
            throw new ConfigException("training.warm-start", path, "is another network: its parameters are "
                    + found + ", the plan's network has " + expected);
        }
        return new StartingModel(networkJson, kernel,
                new ModelSnapshot(saved.params().toFloatVector(), fresh.updaterState(), 0, 0));
    }

    /** Every parameter's name (layer_kind) and shape, in the network's order. */
    private static Map<String, List<Long>> shapes(MultiLayerNetwork net) {
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        net.paramTable().forEach((name, value) -> shapes.put(name, Arrays.stream(value.shape()).boxed().toList()));
        return shapes;
    }

    private static String read(String path) {
        try {
            return Files.readString(Path.of(path));
        } catch (IOException e) {
            throw new ConfigException("model.json", path, "cannot be read: " + e.getMessage());
        }
    }

    /** The fine-tuning base: a DL4J model.zip, or a Keras model in HDF5. */
    private static MultiLayerNetwork load(String path) {
        if (NetworkFiles.isHdf5(path, "model.base")) {
            return NetworkFiles.importKeras(path, "model.base");
        }
        try {
            return ModelSerializer.restoreMultiLayerNetwork(new File(path), false);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("model.base", path, "is neither a saved DL4J model nor a Keras HDF5 file: "
                    + e.getMessage());
        }
    }
}
