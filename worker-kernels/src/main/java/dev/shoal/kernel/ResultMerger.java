package dev.shoal.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * Merges encoded worker results and averages them, as decoding each, folding them with {@link WorkerResult#merge}
 * and taking {@link WorkerResult#average} would, without the arrays of doubles those make. An averaging stage
 * merges every worker's result (megabytes of values) after every round: the decoded arrays, their sums and the
 * widened floats they came from were most of what the stage allocated, and the young collections they caused
 * stopped both workers (measured: 17 MB a worker a round of the Fashion-MNIST MLP, 67 collections in 16 s).
 *
 * <p>The arithmetic is merge's: for each value the first contributing result's is taken as it is and each next
 * one's added in order, in doubles, and the sum divided by the summed weight by average's own code, so
 * {@link #average}'s model is the fold's to the bit. The values are read in chunks of a few thousand, straight
 * from the results' bytes. Not thread-safe; reused from one merge to the next.
 */
public final class ResultMerger {
    private final List<WorkerResultCodec.Decoder> results = new ArrayList<>();
    private final double[] sums = new double[WorkerResultCodec.Decoder.CHUNK];
    private final float[] floatScratch = new float[WorkerResultCodec.Decoder.CHUNK];
    private final double[] doubleScratch = new double[WorkerResultCodec.Decoder.CHUNK];
    private WorkerResult figures = WorkerResult.empty();

    /** Starts a new merge. */
    public void clear() {
        results.clear();
        figures = WorkerResult.empty();
    }

    /**
     * Adds a result in {@link WorkerResultCodec}'s bytes, which must not change until the merge is done, and
     * returns its figures (without values).
     *
     * @throws CorruptSnapshotException if the bytes are not a worker result
     * @throws IllegalArgumentException if it holds another model's values than the results before it
     */
    public WorkerResult add(byte[] encoded) {
        WorkerResultCodec.Decoder result = new WorkerResultCodec.Decoder(encoded);
        if (result.figures.workers() == 0) {
            return result.figures; // merge's identity
        }
        if (!results.isEmpty()) {
            WorkerResultCodec.Decoder first = results.get(0);
            if (first.params != result.params || first.updater != result.updater) {
                throw new IllegalArgumentException("cannot merge results of different models: " + first.params
                        + " + " + first.updater + " vs " + result.params + " + " + result.updater + " values");
            }
        }
        results.add(result);
        figures = figures.merge(result.figures);
        return result.figures;
    }

    /** The figures of the results added since {@link #clear()}, merged, without parameters or updater state. */
    public WorkerResult figures() {
        return figures;
    }

    /**
     * The average of the results added since {@link #clear()}: {@code merged.average(iteration, epoch)} of their
     * fold, to the bit, written over {@code params} and {@code updaterState}, which the snapshot returned then
     * owns (a stage writes every round's average over the arrays of the round before's, read by then).
     *
     * @throws IllegalStateException    if no worker contributed
     * @throws IllegalArgumentException if the arrays are not the results' sizes
     */
    public ModelSnapshot average(int iteration, int epoch, float[] params, float[] updaterState) {
        if (results.isEmpty()) {
            throw new IllegalStateException("no worker contributed to this round");
        }
        WorkerResultCodec.Decoder first = results.get(0);
        if (params.length != first.params || updaterState.length != first.updater) {
            throw new IllegalArgumentException("the results hold " + first.params + " + " + first.updater
                    + " values, not " + params.length + " + " + updaterState.length);
        }
        averageInto(params, 0);
        averageInto(updaterState, first.params);
        return new ModelSnapshot(params, updaterState, iteration, epoch);
    }

    /** The mean of values {@code offset} to {@code offset + out.length - 1} of the results, into {@code out}. */
    private void averageInto(float[] out, int offset) {
        for (int done = 0; done < out.length; done += sums.length) {
            int n = Math.min(sums.length, out.length - done);
            for (int r = 0; r < results.size(); r++) {
                results.get(r).readValues(offset + done, n, sums, r > 0, floatScratch, doubleScratch);
            }
            WorkerResult.mean(sums, n, figures.weight(), out, done);
        }
    }
}
