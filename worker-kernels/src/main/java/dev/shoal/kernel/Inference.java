package dev.shoal.kernel;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A network's outputs for minibatches of rows, as {@code MultiLayerNetwork.output(x, false)} computes them: the
 * scoring path of {@code shoal predict}. Two costs of the plain call are gone. The rows enter a native buffer
 * reused from batch to batch in one bulk copy ({@code Nd4j.create(float[], shape)} copies value by value: it took
 * most of a scoring pass of the Fashion-MNIST MLP). And a network of dense layers is computed with one matrix
 * product, a bias add and its activation per layer, in buffers reused from batch to batch, without DL4J's layer
 * code and workspaces around them. Dropout and weight noise act only in training, so they do not matter here;
 * networks with anything else (other layer types, layer norm, input preprocessors, no bias, not float) go through
 * DL4J's {@code output}.
 *
 * <p>Not safe to share between threads (it reuses its buffers): one per thread, as DL4J networks are.
 */
public final class Inference {
    /** The type of the rows' buffer: floats, whatever the network's type. */
    private static final INDArray FLOAT = Nd4j.scalar(DataType.FLOAT, 0);
    private final MultiLayerNetwork net;
    private final int inputs;
    /** The dense layers, or empty when DL4J computes the outputs. */
    private final List<Dense> layers;
    private INDArray input;

    /** One dense layer's parameters and its output buffer. */
    private static final class Dense {
        final INDArray weights;
        final INDArray bias;
        final IActivation activation;
        INDArray output;

        Dense(INDArray weights, INDArray bias, IActivation activation) {
            this.weights = weights;
            this.bias = bias;
            this.activation = activation;
        }
    }

    private Inference(MultiLayerNetwork net, int inputs, List<Dense> layers) {
        this.net = net;
        this.inputs = inputs;
        this.layers = layers;
    }

    /**
     * Inference with {@code net} on rows of {@code inputs} values. It never changes the parameters, but takes the
     * network over: where DL4J computes the outputs, Shoal's LSTM and self-attention kernels are plugged into it
     * (their forward passes are DL4J's, several times faster). Callers pass a network of their own (one clone per
     * thread).
     */
    public static Inference of(MultiLayerNetwork net, int inputs) {
        List<Dense> dense = denseLayers(net);
        if (dense.isEmpty()) {
            FastLstm.install(net);
            FastAttention.install(net);
        }
        return new Inference(net, inputs, dense);
    }

    /** Whether the dense path computes the outputs (else DL4J's output()). */
    public boolean dense() {
        return !layers.isEmpty();
    }

    /**
     * The network's outputs for the first {@code rows} rows of {@code x} (row-major, {@code inputs} values a row),
     * row-major, one row of outputs per input row.
     */
    public float[] output(float[] x, int rows) {
        input = Buffers.reuse(input, FLOAT, new long[] {rows, inputs});
        WorkerKernel.floats(input).put(x, 0, rows * inputs);
        INDArray out;
        if (layers.isEmpty()) {
            out = net.output(input.castTo(net.params().dataType()), false).castTo(DataType.FLOAT).dup('c');
        } else {
            out = input;
            for (Dense d : layers) {
                d.output = Buffers.reuse(d.output, input, new long[] {rows, d.weights.size(1)});
                Gemm.product(out, false, d.weights, false, d.output);
                d.output.addiRowVector(d.bias);
                d.activation.getActivation(d.output, false);
                out = d.output;
            }
        }
        float[] values = new float[(int) out.length()];
        WorkerKernel.floats(out).get(values);
        return values;
    }

    /** The class with the highest output in row {@code row} of {@code outputs} (rows of {@code classes}). */
    public static int classOf(float[] outputs, int row, int classes) {
        int best = 0;
        for (int k = 1; k < classes; k++) {
            if (outputs[row * classes + k] > outputs[row * classes + best]) {
                best = k;
            }
        }
        return best;
    }

    /** The layers of a network of dense layers and an output layer, each with a bias; empty for any other. */
    private static List<Dense> denseLayers(MultiLayerNetwork net) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        if (!conf.getInputPreProcessors().isEmpty() || conf.getDataType() != DataType.FLOAT) {
            return List.of();
        }
        int n = conf.getConfs().size();
        List<Dense> layers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            var layer = conf.getConf(i).getLayer();
            Class<?> expected = i == n - 1 ? OutputLayer.class : DenseLayer.class;
            if (layer.getClass() != expected || layer instanceof DenseLayer d && d.hasLayerNorm()) {
                return List.of();
            }
            INDArray w = net.getLayer(i).getParam(DefaultParamInitializer.WEIGHT_KEY);
            INDArray b = net.getLayer(i).getParam(DefaultParamInitializer.BIAS_KEY);
            if (w == null || b == null) {
                return List.of();
            }
            layers.add(new Dense(w, b, ((BaseLayer) net.getLayer(i).conf().getLayer()).getActivationFn()));
        }
        return layers;
    }
}
