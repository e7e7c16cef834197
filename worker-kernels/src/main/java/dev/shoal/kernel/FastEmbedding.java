package dev.shoal.kernel;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.feedforward.embedding.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's sequence embedding layer with Shoal's backward pass. DL4J's backward looks every token up again (the
 * forward pass's {@code pullRows}, a minibatch-sized copy) only to throw it away under the identity activation,
 * then scatters one gradient row per token into the zeroed weight gradient with libnd4j's {@code scatterUpdate}.
 * Here the gradient rows of each distinct token in the minibatch are summed on the heap and only those rows are
 * written into the zeroed weight gradient. The forward pass is DL4J's.
 *
 * <p>Falls back to DL4J's backward where it does not apply: a bias, an activation other than the identity,
 * masked sequences, output in [minibatch, length, size] order, input that is not [minibatch, length].
 */
public final class FastEmbedding extends EmbeddingSequenceLayer {
    private final HeapCopy copy = new HeapCopy();
    private double[] tokens;
    private double[] gradients;
    /** Per vocabulary id, its row in {@link #sums}, or -1: all -1 between backward passes. */
    private int[] slotOf;
    private int[] tokenOfSlot;
    private double[] sums;

    private FastEmbedding(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /**
     * Puts a {@code FastEmbedding} in place of each of {@code net}'s sequence embedding layers; returns how many.
     * Call after {@code init()} and before the updater is made.
     */
    public static int install(MultiLayerNetwork net) {
        return LayerHelpers.replace(net, layer -> layer.getClass() == EmbeddingSequenceLayer.class,
                layer -> new FastEmbedding(layer.conf(), layer.params().dataType()));
    }

    /** Whether the layer's configuration is one this class computes the gradient of (else DL4J does). */
    boolean covered() {
        var conf = layerConf();
        return !conf.hasBias() && conf.getActivationFn() instanceof ActivationIdentity
                && conf.getOutputFormat() == RNNFormat.NCW;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        if (!covered() || maskArray != null || input.rank() != 2) {
            return super.backpropGradient(epsilon, workspaceMgr);
        }
        var conf = layerConf();
        int batch = (int) input.size(0);
        int steps = (int) input.size(1);
        int width = (int) conf.getNOut();
        int n = batch * steps;
        tokens = HeapCopy.reuse(tokens, n);
        copy.read(HeapCopy.dense(input, 'c'), 0, tokens, 0, n);
        gradients = HeapCopy.reuse(gradients, (long) n * width);
        copy.read(HeapCopy.dense(epsilon, 'c'), 0, gradients, 0, n * width); // [example][value][step]
        int vocabulary = (int) conf.getNIn();
        if (slotOf == null) {
            slotOf = new int[vocabulary];
            Arrays.fill(slotOf, -1);
        }
        tokenOfSlot = tokenOfSlot != null && tokenOfSlot.length >= n ? tokenOfSlot : new int[n];
        sums = HeapCopy.reuse(sums, (long) Math.min(n, vocabulary) * width);
        int used = 0;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < steps; t++) {
                int token = (int) tokens[b * steps + t];
                int slot = slotOf[token];
                if (slot < 0) {
                    slot = used++;
                    slotOf[token] = slot;
                    tokenOfSlot[slot] = token;
                    Arrays.fill(sums, slot * width, (slot + 1) * width, 0);
                }
                int from = b * width * steps + t;
                for (int k = 0; k < width; k++) {
                    sums[slot * width + k] += gradients[from + k * steps];
                }
            }
        }
        INDArray weightGradient = gradientViews.get(DefaultParamInitializer.WEIGHT_KEY);
        weightGradient.assign(0);
        HeapCopy.writeRows(sums, tokenOfSlot, used, weightGradient);
        for (int slot = 0; slot < used; slot++) {
            slotOf[tokenOfSlot[slot]] = -1;
        }
        Gradient gradient = new DefaultGradient();
        gradient.gradientForVariable().put(DefaultParamInitializer.WEIGHT_KEY, weightGradient);
        return new Pair<>(gradient, null);
    }
}
