package dev.shoal.driver.train;

/** Training produced a non-finite loss; nothing from the diverged state is saved. */
public final class TrainingDivergedException extends RuntimeException {
    public TrainingDivergedException(String message) {
        super(message);
    }
}
