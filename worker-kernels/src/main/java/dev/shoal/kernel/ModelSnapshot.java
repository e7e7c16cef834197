package dev.shoal.kernel;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The whole trainable state of a model at a round boundary: DL4J's flat parameter vector, its flat updater
 * state (Adam's moments, momentum buffers; empty for plain SGD), and the iteration and epoch counters that
 * drive bias correction and learning-rate schedules. Averaging two snapshots is two vector operations.
 *
 * <p>Instances travel as bytes through {@link SnapshotCodec}, never by Java serialization of a network.
 * The arrays are owned by the snapshot: callers must not change them.
 */
public record ModelSnapshot(float[] params, float[] updaterState, int iteration, int epoch) implements Serializable {

    public ModelSnapshot {
        if (iteration < 0 || epoch < 0) {
            throw new IllegalArgumentException("iteration and epoch must be >= 0, got " + iteration + ", " + epoch);
        }
    }

    /** The same state with the epoch counter set, for the learning-rate schedule of the next epoch. */
    public ModelSnapshot atEpoch(int newEpoch) {
        return new ModelSnapshot(params, updaterState, iteration, newEpoch);
    }

    /**
     * The index of the first NaN or infinite value, counting the parameters first and then the updater state;
     * -1 when every value is finite.
     */
    public int firstNonFinite() {
        int param = Floats.firstNonFinite(params, 0, params.length);
        if (param >= 0) {
            return param;
        }
        int state = Floats.firstNonFinite(updaterState, 0, updaterState.length);
        return state < 0 ? -1 : params.length + state;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelSnapshot s && iteration == s.iteration && epoch == s.epoch
                && Arrays.equals(params, s.params) && Arrays.equals(updaterState, s.updaterState);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(params) + Arrays.hashCode(updaterState)) + 31 * iteration + epoch;
    }

    @Override
    public String toString() {
        return "ModelSnapshot[params=" + params.length + ", updaterState=" + updaterState.length
                + ", iteration=" + iteration + ", epoch=" + epoch + "]";
    }
}
