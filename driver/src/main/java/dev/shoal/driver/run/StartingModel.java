package dev.shoal.driver.run;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.NetworkFiles;
import dev.shoal.kernel.Target;
import dev.shoal.kernel.NetworkFactory;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.ModelConfig;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /** The plan's network for examples of {@code input} in {@code classes} classes. */
    static StartingModel of(TrainingPlan plan, InputShape input, int classes) {
        ModelConfig m = plan.model();
        long seed = plan.training().seed();
        return switch (m.type()) {
            case FINE_TUNE -> trained(NetworkFiles.fineTune(m, load(m.base()), plan.optimizer(), input, classes,
                    seed), m.type().target());
            case KERAS -> trained(NetworkFiles.keras(m.keras(), plan.optimizer(), input, classes, seed),
                    m.type().target());
            case DL4J_JSON -> fresh(NetworkFiles.fromJson(read(m.json()), m.json(), input, classes).toJson(),
                    m.type().target());
            default -> fresh(NetworkFactory.build(m, plan.optimizer(), input, classes, seed).toJson(),
                    m.type().target());
        };
    }

    /** The network of {@code json} as its own initialisation leaves it. */
    private static StartingModel fresh(String json, Target target) {
        WorkerKernel kernel = new WorkerKernel(json, target);
        return new StartingModel(json, kernel, kernel.snapshot());
    }

    /** {@code net} with the parameters it has (trained before, in a file), and a fresh optimizer state. */
    private static StartingModel trained(MultiLayerNetwork net, Target target) {
        // The kernel initialises the network as its configuration says; the run starts from the file's trained
        // parameters instead, with the kernel's fresh updater state.
        StartingModel built = fresh(net.getLayerWiseConfigurations().toJson(), target);
        return new StartingModel(built.networkJson(), built.kernel(),
                new ModelSnapshot(net.params().toFloatVector(), built.fresh().updaterState(), 0, 0));
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
