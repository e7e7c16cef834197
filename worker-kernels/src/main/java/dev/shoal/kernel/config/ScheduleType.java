package dev.shoal.kernel.config;

/** Learning-rate schedules, applied per epoch. */
public enum ScheduleType {
    /** A constant learning rate. */
    NONE,
    /** lr * decay^floor(epoch / every-epochs). */
    STEP,
    /** lr * decay^epoch. */
    EXPONENTIAL
}
