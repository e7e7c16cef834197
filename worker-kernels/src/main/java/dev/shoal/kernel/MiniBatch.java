package dev.shoal.kernel;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** One minibatch on the heap: {@code rows} examples of {@code featureSize} floats and their class indices. */
public record MiniBatch(float[] features, int[] labels, int featureSize, int numClasses) {
    public int rows() {
        return labels.length;
    }

    /** The labels as a row-major {@code rows x numClasses} one-hot matrix. */
    public float[] oneHotLabels() {
        float[] oneHot = new float[rows() * numClasses];
        for (int r = 0; r < rows(); r++) {
            oneHot[r * numClasses + labels[r]] = 1f;
        }
        return oneHot;
    }

    /** A DL4J DataSet in fresh arrays, for plain-DL4J comparisons; the kernel reuses its own buffers instead. */
    public DataSet toDataSet() {
        return new DataSet(Nd4j.create(features, new long[] {rows(), featureSize}, 'c'),
                Nd4j.create(oneHotLabels(), new long[] {rows(), numClasses}, 'c'));
    }
}
