package dev.shoal.driver.plan;

import dev.shoal.driver.registry.GateConfig;
import dev.shoal.kernel.config.KernelOptions;
import dev.shoal.kernel.config.Key;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.OptimizerConfig;

/** A whole job file: what to train, on what, how, and where the results go. */
public record TrainingPlan(
        @Key(doc = "Name of the job; the run directory is named after it.", defaultValue = "shoal") String name,
        @Key(doc = "Where the examples come from.") DataConfig data,
        @Key(doc = "The network to train.") ModelConfig model,
        @Key(doc = "How parameters are updated.", defaultValue = "{}") OptimizerConfig optimizer,
        @Key(doc = "Epochs, batch size and seed.", defaultValue = "{}") TrainingConfig training,
        @Key(doc = "How workers are kept in step.", defaultValue = "{}") SyncConfig sync,
        @Key(doc = "Where Spark runs.", defaultValue = "{}") SparkConfig spark,
        @Key(doc = "Where the run directory is written.", defaultValue = "{}") OutputConfig output,
        @Key(doc = "Checkpoints a run can be resumed from.", defaultValue = "{}") CheckpointConfig checkpoint,
        @Key(doc = "shoal retrain: what a challenger must reach to become the registry's champion.",
                defaultValue = "{}") GateConfig gate,
        @Key(doc = "Shoal's speed-ups of DL4J, each of which can be switched off.", defaultValue = "{}")
        KernelOptions kernel) {

    public TrainingPlan {
        if (name.isBlank() || !name.matches("[A-Za-z0-9._-]+")) {
            throw new dev.shoal.kernel.config.ConfigException("name", "'" + name + "'",
                    "must be letters, digits, '.', '_' or '-' (it names the run directory)");
        }
    }

    /** A plan with every speed-up on. */
    public TrainingPlan(String name, DataConfig data, ModelConfig model, OptimizerConfig optimizer,
                        TrainingConfig training, SyncConfig sync, SparkConfig spark, OutputConfig output,
                        CheckpointConfig checkpoint, GateConfig gate) {
        this(name, data, model, optimizer, training, sync, spark, output, checkpoint, gate, KernelOptions.ALL);
    }

    /** This plan with the data section {@code d}. */
    public TrainingPlan withData(DataConfig d) {
        return new TrainingPlan(name, d, model, optimizer, training, sync, spark, output, checkpoint, gate, kernel);
    }
}
