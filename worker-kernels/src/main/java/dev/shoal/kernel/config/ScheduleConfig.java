package dev.shoal.kernel.config;

/** The {@code optimizer.schedule} section: how the learning rate changes from epoch to epoch. */
public record ScheduleConfig(
        @Key(doc = "none, step or exponential.", defaultValue = "none") ScheduleType type,
        @Key(doc = "Factor applied to the learning rate at each decay, in (0, 1].", defaultValue = "0.5") double decay,
        @Key(doc = "For step: epochs between two decays.", defaultValue = "1") int everyEpochs) {

    public ScheduleConfig {
        if (!(decay > 0 && decay <= 1)) {
            throw new ConfigException("decay", decay, "must be in (0, 1]");
        }
        Checks.atLeast("every-epochs", everyEpochs, 1);
    }
}
