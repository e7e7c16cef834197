package dev.shoal.kernel;

/** One minibatch on the heap: {@code rows} examples of {@code featureSize} floats and their class indices. */
public record MiniBatch(float[] features, int[] labels, int featureSize, int numClasses) {
    public int rows() {
        return labels.length;
    }
}
