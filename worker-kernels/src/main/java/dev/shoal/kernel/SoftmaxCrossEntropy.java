package dev.shoal.kernel;

import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * DL4J's multi-class cross-entropy over a softmax output ({@link LossMCXENT} without class weights), score and
 * gradient together in one Java pass over the {@code rows x classes} output. DL4J computes the softmax twice,
 * once for each, in six ND4J operations (134 µs for a 128 x 10 output, where the arithmetic takes a few): on
 * a classifier's small output layer the per-operation overhead is the whole cost. Same formula: the score is
 * -sum(labels * log(clip(softmax))) with DL4J's clipping epsilon, the gradient softmax - labels (unclipped).
 */
final class SoftmaxCrossEntropy {
    /** {@link #pass}'s predicted classes when none are asked for (training). */
    private static final int[] NO_CLASSES = new int[0];
    private final double clip;
    private float[] z = new float[0];
    private float[] y = new float[0];

    private SoftmaxCrossEntropy(double clip) {
        this.clip = clip;
    }

    /** The fused loss for {@code loss} over {@code activation}, or null when it is anything else. */
    static SoftmaxCrossEntropy of(ILossFunction loss, IActivation activation) {
        if (loss.getClass() != LossMCXENT.class || activation.getClass() != ActivationSoftmax.class
                || ((LossMCXENT) loss).getWeights() != null) {
            return null;
        }
        return new SoftmaxCrossEntropy(((LossMCXENT) loss).getSoftmaxClipEps());
    }

    /**
     * Returns the loss summed over the rows of {@code preOutput} and writes its gradient with respect to
     * {@code preOutput} into {@code gradient}; all three arrays are {@code rows x classes} floats.
     */
    double compute(INDArray labels, INDArray preOutput, INDArray gradient) {
        double score = pass(labels, preOutput, NO_CLASSES);
        WorkerKernel.floats(gradient).put(z);
        return score;
    }

    /**
     * Evaluation's: the summed loss, as {@link #compute}'s, and each row's most probable class (the first of
     * equally probable ones, as DL4J's argMax of the softmax picks) into {@code predicted}.
     */
    double evaluate(INDArray labels, INDArray preOutput, int[] predicted) {
        return pass(labels, preOutput, predicted);
    }

    /** The summed loss; the gradient into {@code z}; each row's most probable class into a non-empty predicted. */
    private double pass(INDArray labels, INDArray preOutput, int[] predicted) {
        int rows = (int) preOutput.size(0);
        int classes = (int) preOutput.size(1);
        int n = rows * classes;
        if (z.length != n) {
            z = new float[n];
            y = new float[n];
        }
        WorkerKernel.floats(preOutput).get(z);
        WorkerKernel.floats(labels).get(y);
        float low = (float) clip;
        float high = (float) (1 - clip);
        double score = 0;
        for (int r = 0; r < rows; r++) {
            int from = r * classes;
            int to = from + classes;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = from; i < to; i++) {
                max = Math.max(max, z[i]);
            }
            float sum = 0;
            for (int i = from; i < to; i++) {
                z[i] = (float) Math.exp(z[i] - max);
                sum += z[i];
            }
            float most = Float.NEGATIVE_INFINITY;
            if (predicted.length > 0) {
                predicted[r] = 0; // where every probability is NaN
            }
            for (int i = from; i < to; i++) {
                float p = z[i] / sum;
                score -= y[i] * (float) Math.log(Math.min(Math.max(p, low), high));
                z[i] = p - y[i];
                if (predicted.length > 0 && p > most) {
                    most = p;
                    predicted[r] = i - from;
                }
            }
        }
        return score;
    }
}
