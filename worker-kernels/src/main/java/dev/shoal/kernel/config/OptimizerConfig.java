package dev.shoal.kernel.config;

/** The {@code optimizer} section: the updater, its hyperparameters and the learning-rate schedule. */
public record OptimizerConfig(
        @Key(doc = "sgd, momentum (Nesterov), adam or rmsprop.", defaultValue = "adam") UpdaterType updater,
        @Key(doc = "Initial learning rate, > 0.", defaultValue = "0.001") double learningRate,
        @Key(doc = "Momentum coefficient for momentum, in [0, 1).", defaultValue = "0.9") double momentum,
        @Key(doc = "Adam's first-moment decay, in [0, 1).", defaultValue = "0.9") double beta1,
        @Key(doc = "Adam's second-moment decay, in [0, 1).", defaultValue = "0.999") double beta2,
        @Key(doc = "RMSProp's squared-gradient decay, in [0, 1).", defaultValue = "0.95") double rmsDecay,
        @Key(doc = "Numerical-stability epsilon of adam and rmsprop, > 0.", defaultValue = "1e-8") double epsilon,
        @Key(doc = "Learning-rate schedule.", defaultValue = "{}") ScheduleConfig schedule) {

    public OptimizerConfig {
        Checks.positive("learning-rate", learningRate);
        Checks.fraction("momentum", momentum);
        Checks.fraction("beta1", beta1);
        Checks.fraction("beta2", beta2);
        Checks.fraction("rms-decay", rmsDecay);
        Checks.positive("epsilon", epsilon);
    }
}
