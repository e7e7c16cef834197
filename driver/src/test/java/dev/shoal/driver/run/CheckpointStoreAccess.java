package dev.shoal.driver.run;

import dev.shoal.driver.train.TrainingState;

/** Lets tests in other packages send a state through the checkpoint file format. */
public final class CheckpointStoreAccess {
    private CheckpointStoreAccess() {
    }

    public static TrainingState roundTrip(TrainingState state) {
        return CheckpointStore.decode(CheckpointStore.encode(state, 0), "test").state();
    }
}
