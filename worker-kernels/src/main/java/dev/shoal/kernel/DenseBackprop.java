package dev.shoal.kernel;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.ILossFunction;

/**
 * Forward and backward passes of a network of dense layers, computed with a handful of operations per layer
 * (five matrix products, {@link Gemm}'s, one of them the bias; the activation) on buffers reused from step to
 * step, into the network's own flattened gradient array in DL4J's layout. DL4J's updater then takes it from
 * there, so training and saved models stay DL4J's; only the per-operation overhead of DL4J's layer code is gone
 * (it made the backward pass of the Fashion-MNIST MLP 3x slower than its matrix products).
 *
 * <p>The activations and the loss are DL4J's own objects from the configuration, so the arithmetic is theirs,
 * except for a softmax output with cross-entropy, the classifiers' case, which {@link SoftmaxCrossEntropy} does.
 * Networks this does not cover (any other layer type, dropout, weight noise, layer norm, gradient
 * normalization, input preprocessors) are left to DL4J: {@link #of} returns null for them.
 */
final class DenseBackprop {
    private final List<Dense> layers;
    private final ILossFunction loss;
    /** The output layer's softmax and cross-entropy in Java; null for other losses (DL4J's own then). */
    private final SoftmaxCrossEntropy softmaxLoss;
    private int batchRows = -1;
    /**
     * A row of ones: the bias gradient is ones x delta, one matrix product (a column sum took 3 ND4J ops), and the
     * bias goes into every row of a layer's output as ones' x bias.
     */
    private INDArray ones;

    /** One layer's parameter and gradient views and its per-batch buffers. */
    private static final class Dense {
        final INDArray weights;
        final INDArray bias;
        final INDArray weightGradient;
        final INDArray biasGradient;
        final IActivation activation;
        INDArray preOutput;
        INDArray output;
        INDArray delta;

        Dense(INDArray weights, INDArray bias, INDArray weightGradient, INDArray biasGradient, IActivation activation) {
            this.weights = weights;
            this.bias = bias;
            this.weightGradient = weightGradient;
            this.biasGradient = biasGradient;
            this.activation = activation;
        }
    }

    private DenseBackprop(List<Dense> layers, ILossFunction loss) {
        this.layers = layers;
        this.loss = loss;
        softmaxLoss = SoftmaxCrossEntropy.of(loss, layers.get(layers.size() - 1).activation);
    }

    /** The fast path for {@code net}, or null when {@code net} has anything it does not cover. */
    static DenseBackprop of(MultiLayerNetwork net) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        if (!conf.getInputPreProcessors().isEmpty() || conf.getDataType() != DataType.FLOAT) {
            return null;
        }
        int n = conf.getConfs().size();
        List<Dense> layers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Layer layer = conf.getConf(i).getLayer();
            boolean last = i == n - 1;
            Class<?> expected = last ? OutputLayer.class : DenseLayer.class;
            if (layer.getClass() != expected || !plain((BaseLayer) layer)) {
                return null;
            }
            if (!last && ((DenseLayer) layer).hasLayerNorm()) {
                return null;
            }
            org.deeplearning4j.nn.api.Layer impl = net.getLayer(i);
            INDArray w = impl.getParam(DefaultParamInitializer.WEIGHT_KEY);
            INDArray b = impl.getParam(DefaultParamInitializer.BIAS_KEY);
            if (w == null || b == null) {
                return null;
            }
            // DL4J lays a layer's gradient out like its parameters: the weights (column-major), then the bias.
            INDArray view = impl.getGradientsViewArray().reshape(impl.getGradientsViewArray().length());
            long wLength = w.length();
            INDArray gw = view.get(NDArrayIndex.interval(0, wLength)).reshape('f', w.size(0), w.size(1));
            INDArray gb = view.get(NDArrayIndex.interval(wLength, wLength + b.length())).reshape(1, b.length());
            // The layer's own configuration: it may hold a faster activation than the network's (FastRelu).
            layers.add(new Dense(w, b.reshape(1, b.length()), gw, gb,
                    ((BaseLayer) impl.conf().getLayer()).getActivationFn()));
        }
        ILossFunction loss = ((OutputLayer) conf.getConf(n - 1).getLayer()).getLossFn();
        return new DenseBackprop(layers, loss);
    }

    private static boolean plain(BaseLayer layer) {
        GradientNormalization g = layer.getGradientNormalization();
        return layer.getIDropout() == null && layer.getWeightNoise() == null
                && (g == null || g == GradientNormalization.None);
    }

    /**
     * Computes the gradient of the summed loss over the batch into the network's gradient array, as DL4J's
     * {@code computeGradientAndScore} does, and returns the mean loss: DL4J's score without the regularization
     * term, which the caller adds.
     *
     * @param features {@code rows x inputs}, row-major
     * @param labels   {@code rows x outputs}, row-major
     */
    double compute(INDArray features, INDArray labels) {
        int rows = (int) features.size(0);
        forward(features);
        Dense out = last();
        double score;
        INDArray delta;
        if (softmaxLoss != null) {
            // The output layer's activations are never needed here: its buffer takes the loss gradient.
            score = softmaxLoss.compute(labels, out.preOutput, out.output) / rows;
            delta = out.output;
        } else {
            score = loss.computeScore(labels, out.preOutput, out.activation, null, false) / rows;
            delta = loss.computeGradient(labels, out.preOutput, out.activation, null);
        }
        for (int i = layers.size() - 1; i >= 0; i--) {
            Dense d = layers.get(i);
            INDArray below = i == 0 ? features : layers.get(i - 1).output;
            Gemm.product(below, true, delta, false, d.weightGradient);
            Gemm.product(ones, false, delta, false, d.biasGradient);
            if (i > 0) {
                Dense previous = layers.get(i - 1);
                Gemm.product(delta, false, d.weights, true, d.delta);
                // backprop turns dL/d(output) into dL/d(preOutput), in the preOutput array it was given.
                delta = previous.activation.backprop(previous.preOutput, d.delta).getFirst();
            }
        }
        return score;
    }

    /** Whether {@link #evaluate} applies: a softmax output scored by cross-entropy (the classifiers'). */
    boolean classifies() {
        return softmaxLoss != null;
    }

    /**
     * Evaluation's forward pass: the loss summed over the rows (DL4J's score times the rows, without the
     * regularization term) and each row's most probable class into {@code predicted}. Only where
     * {@link #classifies()}.
     */
    double evaluate(INDArray features, INDArray labels, int[] predicted) {
        forward(features);
        return softmaxLoss.evaluate(labels, last().preOutput, predicted);
    }

    /** The layers' pre-activations and activations for {@code features}, in buffers of its number of rows. */
    private void forward(INDArray features) {
        int rows = (int) features.size(0);
        if (rows != batchRows) {
            for (Dense d : layers) {
                d.preOutput = Nd4j.create(DataType.FLOAT, rows, d.weights.size(1));
                d.output = Nd4j.create(DataType.FLOAT, rows, d.weights.size(1));
                d.delta = Nd4j.create(DataType.FLOAT, rows, d.weights.size(0));
            }
            ones = Nd4j.ones(DataType.FLOAT, 1, rows);
            batchRows = rows;
        }
        INDArray input = features;
        for (Dense d : layers) {
            // The bias in every row (ones' x bias, a product of depth 1), then input x weights added to it.
            Gemm.product(ones, true, d.bias, false, d.preOutput);
            Gemm.addProduct(input, false, d.weights, false, d.preOutput);
            if (d != last()) {
                if (d.activation instanceof FastRelu relu) {
                    relu.activate(d.preOutput, d.output);
                } else {
                    d.activation.getActivation(d.output.assign(d.preOutput), true);
                }
                input = d.output;
            }
        }
    }

    private Dense last() {
        return layers.get(layers.size() - 1);
    }
}
