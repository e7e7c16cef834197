package dev.shoal.driver.run;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.FineTuning;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.NetworkFactory;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import java.io.File;
import java.io.IOException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/**
 * The network a plan trains and the model a fresh run starts from: a new network of the zoo, initialised from the
 * seed, or a saved model prepared for fine-tuning.
 *
 * @param networkJson the network's DL4J configuration, as executors build it
 * @param kernel      a kernel of that network on the driver
 * @param fresh       the starting parameters, with a fresh optimizer state
 */
record StartingModel(String networkJson, WorkerKernel kernel, ModelSnapshot fresh) {

    static StartingModel of(TrainingPlan plan, InputShape input) {
        ModelConfig m = plan.model();
        int classes = plan.data().classes();
        long seed = plan.training().seed();
        if (m.type() != ModelType.FINE_TUNE) {
            String json = NetworkFactory.build(m, plan.optimizer(), input, classes, seed).toJson();
            WorkerKernel kernel = new WorkerKernel(json);
            return new StartingModel(json, kernel, kernel.snapshot());
        }
        MultiLayerNetwork tuned = FineTuning.of(load(m.base()), m.base(), m.freeze(), plan.optimizer(), input,
                classes, seed);
        String json = tuned.getLayerWiseConfigurations().toJson();
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot initial = kernel.snapshot();
        return new StartingModel(json, kernel,
                new ModelSnapshot(tuned.params().toFloatVector(), initial.updaterState(), 0, 0));
    }

    private static MultiLayerNetwork load(String path) {
        try {
            return ModelSerializer.restoreMultiLayerNetwork(new File(path), false);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("model.base", path, "is not a saved DL4J model: " + e.getMessage());
        }
    }
}
