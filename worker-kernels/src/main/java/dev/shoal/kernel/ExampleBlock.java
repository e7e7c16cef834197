package dev.shoal.kernel;

import java.io.Serializable;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * One partition's examples in the canonical dense form: {@code size} rows of {@code featureSize} floats
 * ({@link FeatureRows}, one byte a value where the data allows), and one class index per row. The driver builds
 * one block per partition and keeps it in executor memory for the whole run; the kernel draws a fresh, seeded
 * order of minibatches from it each epoch.
 *
 * @param clients for federated averaging's {@code column} split, the client of each row (an index into the
 *                table's sorted client names); empty when the data names no clients
 */
public record ExampleBlock(FeatureRows featureRows, int[] labels, int numClasses, int[] clients)
        implements Serializable {

    /** A block of the rows of {@code features} (row-major), naming no clients. */
    public ExampleBlock(float[] features, int[] labels, int featureSize, int numClasses) {
        this(features, labels, featureSize, numClasses, new int[0]);
    }

    /** A block of the rows of {@code features} (row-major) and, unless empty, each row's client. */
    public ExampleBlock(float[] features, int[] labels, int featureSize, int numClasses, int[] clients) {
        this(rows(features, labels, featureSize), labels, numClasses, clients);
    }

    public ExampleBlock {
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be >= 1");
        }
        if (featureRows.rows() != labels.length) {
            throw new IllegalArgumentException("block has " + labels.length + " labels but " + featureRows.rows()
                    + " rows of features");
        }
        if (clients.length != 0 && clients.length != labels.length) {
            throw new IllegalArgumentException("block has " + labels.length + " labels but " + clients.length
                    + " client keys");
        }
    }

    private static FeatureRows rows(float[] features, int[] labels, int featureSize) {
        if (featureSize < 1) {
            throw new IllegalArgumentException("featureSize must be >= 1");
        }
        if (features.length != (long) labels.length * featureSize) {
            throw new IllegalArgumentException("block has " + labels.length + " labels but " + features.length
                    + " feature values; expected " + (long) labels.length * featureSize);
        }
        return FeatureRows.of(features, featureSize);
    }

    public int featureSize() {
        return featureRows.width();
    }

    /** The feature value at {@code index} of the row-major values. */
    public float feature(int index) {
        return featureRows.get(index / featureSize(), index % featureSize());
    }

    /** All feature values, row-major, in a new array. */
    public float[] features() {
        return featureRows.toArray();
    }

    public int size() {
        return labels.length;
    }

    /** Minibatches of this block per epoch: the last one may be short. */
    public int batchCount(int batchSize) {
        return (size() + batchSize - 1) / batchSize;
    }

    /**
     * Batches {@code first} to {@code first + count - 1} (clipped to the block) of the epoch's order, which is a
     * permutation of the rows drawn from {@code orderSeed}: the same seed gives the same order on any machine.
     */
    public Iterator<MiniBatch> batches(long orderSeed, int batchSize, int first, int count) {
        return iterate(Shuffle.permutation(size(), orderSeed), batchSize, first, count);
    }

    /** All rows in stored order, for evaluation. */
    public Iterator<MiniBatch> inOrder(int batchSize) {
        int[] identity = new int[size()];
        for (int i = 0; i < identity.length; i++) {
            identity[i] = i;
        }
        return iterate(identity, batchSize, 0, batchCount(batchSize));
    }

    private Iterator<MiniBatch> iterate(int[] order, int batchSize, int first, int count) {
        int end = Math.min(batchCount(batchSize), first + count);
        return new Iterator<>() {
            private int next = first;

            @Override
            public boolean hasNext() {
                return next < end;
            }

            @Override
            public MiniBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                int from = next++ * batchSize;
                return gather(order, from, Math.min(size(), from + batchSize));
            }
        };
    }

    private MiniBatch gather(int[] order, int from, int to) {
        int rows = to - from;
        int width = featureSize();
        float[] x = new float[rows * width];
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            int row = order[from + r];
            featureRows.copyRow(row, x, r * width);
            y[r] = labels[row];
        }
        return new MiniBatch(x, y, width, numClasses);
    }
}
