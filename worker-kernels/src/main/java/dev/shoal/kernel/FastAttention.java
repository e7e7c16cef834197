package dev.shoal.kernel;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.cblas_dgemm;

import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's {@link SelfAttentionLayer} (multi-head scaled dot-product self-attention with input and output
 * projections, no biases) computed by Shoal: the layer object DL4J makes for it runs a SameDiff graph whose
 * libnd4j attention ops took 1.3 s per step of imdb-attention's shape where PyTorch takes ~0.24 s. This class
 * takes that object's place in the network ({@link #install}) and keeps its configuration, parameters and
 * gradient views, so saved models stay DL4J's own.
 *
 * <p>The math, for each example (x: [nIn, T]) and head h (P = nOut / heads values per head): Q = Wq[h] x,
 * K = Wk[h] x, V = Wv[h] x ([P, T] each); the attention A[t][s] = softmax over the keys s of Q[:, t] . K[:, s] /
 * sqrt(P); the head's output O = V A^T ([P, T]); the heads' outputs stacked ([heads x P, T]) go through the output
 * projection, out = Wo^T [O_1; ...; O_heads] ([nOut, T]). The backward pass is the chain rule through each, with the
 * softmax's gradient s (g - s . g) per query. Every product is one BLAS call ({@code cblas_dgemm} on Java arrays,
 * no copies to native memory): per example the three input projections as one product and the output projection
 * as one; per example and head the scores, the weighted sum and, going back, four products. The softmax (with its
 * max subtracted) is a loop over each query's row of scores, contiguous, with {@link FastMath}'s exp in float
 * networks. Arithmetic in double on the heap, as {@link FastLstm}'s, for float and double networks alike (DL4J's
 * gradient check runs on this code).
 *
 * <p>Masks (padded sequences) and layers without input projections fall back to DL4J's own path. Not thread-safe:
 * one per layer of a network that one thread trains.
 */
public final class FastAttention extends SameDiffLayer {
    /** The parameters' names, as SelfAttentionLayer defines them: the input projections, the output projection. */
    private static final List<String> WEIGHTS = List.of("Wq", "Wk", "Wv");
    private static final String OUTPUT_WEIGHTS = "Wo";

    private final HeapCopy copy = new HeapCopy();
    /** Whether the last forward pass was this class's (else DL4J's, whose backward pass then runs too). */
    private boolean ownForward;
    /** Whether it kept every example's arrays for a backward pass (training), or reused one example's (inference). */
    private boolean kept;
    private int batch;
    private int steps;
    /** The input projections stacked [3 x heads x P, nIn] and the output projection [heads x P, nOut]. */
    private double[] projections;
    private double[] output;
    /** Per example: its input [nIn, T], its queries, keys and values [3 x heads x P, T], its heads' outputs. */
    private double[][] inputs;
    private double[][] queriesKeysValues;
    private double[][] heads;
    /** Per example and head: the queries, keys and values [P, T] and the attention weights [T queries, T keys]. */
    private double[][] queries;
    private double[][] keys;
    private double[][] values;
    private double[][] attention;
    /**
     * Scratch: one example's output or its gradient, [nOut, T]; a head's output or its gradient [P, T]; the
     * attention's gradient [T, T]; going back, the gradients of the projections (summed over the minibatch), of one
     * example's heads, queries, keys and values, and input, and of one head's queries, keys and values.
     */
    private double[] example;
    private double[] head;
    private double[] scores;
    private double[] projectionGradient;
    private double[] outputGradient;
    private double[] headsGradient;
    private double[] qkvGradient;
    private double[] inputGradient;
    private double[] queryGradient;
    private double[] keyGradient;
    private double[] valueGradient;

    /** The layer's shape: heads, values per head (P), input and output sizes. */
    private final int nHeads;
    private final int p;
    private final int nIn;
    private final int nOut;

    private FastAttention(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        SelfAttentionLayer attention = (SelfAttentionLayer) conf.getLayer();
        nHeads = attention.getNHeads();
        p = (int) (attention.getHeadSize() > 0 ? attention.getHeadSize() : attention.getNOut() / nHeads);
        nIn = (int) attention.getNIn();
        nOut = (int) attention.getNOut();
    }

    /**
     * Puts a {@code FastAttention} in place of each of {@code net}'s self-attention layers that project their input
     * (every attention-classifier's); returns how many. Call after {@code init()} and before the updater is made.
     */
    public static int install(MultiLayerNetwork net) {
        return LayerHelpers.replace(net, layer -> layer instanceof SameDiffLayer dl4j
                        && !(dl4j instanceof FastAttention) && dl4j.conf().getLayer() instanceof SelfAttentionLayer a
                        && a.isProjectInput(),
                layer -> new FastAttention(layer.conf(), layer.params().dataType()));
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        ownForward = maskArray == null && input.rank() == 3;
        if (!ownForward) {
            return super.activate(training, workspaceMgr);
        }
        int hp = nHeads * p;
        batch = (int) input.size(0);
        steps = (int) input.size(2);
        int t = steps;
        projections = HeapCopy.reuse(projections, 3L * hp * nIn);
        for (int m = 0; m < 3; m++) {
            copy.read(HeapCopy.dense(paramTable.get(WEIGHTS.get(m)), 'c'), 0, projections, m * hp * nIn, hp * nIn);
        }
        output = HeapCopy.reuse(output, (long) hp * nOut);
        copy.read(HeapCopy.dense(paramTable.get(OUTPUT_WEIGHTS), 'c'), 0, output, 0, hp * nOut);
        // Training keeps every example's arrays for the backward pass; inference (evaluation at large minibatches)
        // reuses the first example's, so that it adds no memory.
        kept = training;
        int examples = training ? batch : 1;
        inputs = HeapCopy.reuse(inputs, examples, nIn * t);
        queriesKeysValues = HeapCopy.reuse(queriesKeysValues, examples, 3 * hp * t);
        heads = HeapCopy.reuse(heads, examples, hp * t);
        queries = HeapCopy.reuse(queries, examples * nHeads, p * t);
        keys = HeapCopy.reuse(keys, examples * nHeads, p * t);
        values = HeapCopy.reuse(values, examples * nHeads, p * t);
        attention = HeapCopy.reuse(attention, examples * nHeads, t * t);
        example = HeapCopy.reuse(example, (long) Math.max(nOut, nIn) * t);
        head = HeapCopy.reuse(head, (long) p * t);
        double scale = 1 / Math.sqrt(p);
        boolean exact = input.dataType() == DataType.DOUBLE;
        INDArray x = HeapCopy.dense(input, 'c');
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(),
                new long[] {batch, nOut, t}, 'c');
        for (int b = 0; b < batch; b++) {
            int e = training ? b : 0;
            copy.read(x, (long) b * nIn * t, inputs[e], 0, nIn * t);
            double[] qkv = queriesKeysValues[e];
            gemm(false, false, 3 * hp, t, nIn, 1, projections, inputs[e], 0, qkv);
            for (int h = 0; h < nHeads; h++) {
                int bh = e * nHeads + h;
                System.arraycopy(qkv, h * p * t, queries[bh], 0, p * t);
                System.arraycopy(qkv, (hp + h * p) * t, keys[bh], 0, p * t);
                System.arraycopy(qkv, (2 * hp + h * p) * t, values[bh], 0, p * t);
                double[] a = attention[bh];
                gemm(true, false, t, t, p, scale, queries[bh], keys[bh], 0, a); // [query][key] scores
                softmaxRows(a, t, exact);
                gemm(false, true, p, t, t, 1, values[bh], a, 0, head);
                System.arraycopy(head, 0, heads[e], h * p * t, p * t);
            }
            gemm(true, false, nOut, t, hp, 1, output, heads[e], 0, example);
            copy.write(example, 0, nOut * t, out, (long) b * nOut * t);
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        if (!ownForward) {
            return super.backpropGradient(epsilon, workspaceMgr);
        }
        if (!kept) {
            throw new IllegalStateException("FastAttention: a backward pass after an inference forward pass");
        }
        ownForward = false; // the forward arrays stay valid, but one backward pass per forward pass, as DL4J does
        int hp = nHeads * p;
        int t = steps;
        double scale = 1 / Math.sqrt(p);
        projectionGradient = zeros(projectionGradient, 3 * hp * nIn);
        outputGradient = zeros(outputGradient, hp * nOut);
        headsGradient = HeapCopy.reuse(headsGradient, (long) hp * t);
        qkvGradient = HeapCopy.reuse(qkvGradient, 3L * hp * t);
        inputGradient = HeapCopy.reuse(inputGradient, (long) nIn * t);
        queryGradient = HeapCopy.reuse(queryGradient, (long) p * t);
        keyGradient = HeapCopy.reuse(keyGradient, (long) p * t);
        valueGradient = HeapCopy.reuse(valueGradient, (long) p * t);
        scores = HeapCopy.reuse(scores, (long) t * t);
        INDArray above = HeapCopy.dense(epsilon, 'c');
        INDArray inputEpsilon = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(),
                new long[] {batch, nIn, t}, 'c');
        for (int b = 0; b < batch; b++) {
            copy.read(above, (long) b * nOut * t, example, 0, nOut * t);
            gemm(false, true, hp, nOut, t, 1, heads[b], example, 1, outputGradient);
            gemm(false, false, hp, t, nOut, 1, output, example, 0, headsGradient);
            for (int h = 0; h < nHeads; h++) {
                int bh = b * nHeads + h;
                double[] a = attention[bh];
                System.arraycopy(headsGradient, h * p * t, head, 0, p * t);
                gemm(true, false, t, t, p, 1, head, values[bh], 0, scores); // d attention, [query][key]
                gemm(false, false, p, t, t, 1, head, a, 0, valueGradient);
                softmaxBackwardRows(a, scores, t);
                gemm(false, true, p, t, t, scale, keys[bh], scores, 0, queryGradient);
                gemm(false, false, p, t, t, scale, queries[bh], scores, 0, keyGradient);
                System.arraycopy(queryGradient, 0, qkvGradient, h * p * t, p * t);
                System.arraycopy(keyGradient, 0, qkvGradient, (hp + h * p) * t, p * t);
                System.arraycopy(valueGradient, 0, qkvGradient, (2 * hp + h * p) * t, p * t);
            }
            gemm(false, true, 3 * hp, nIn, t, 1, qkvGradient, inputs[b], 1, projectionGradient);
            gemm(true, false, nIn, t, 3 * hp, 1, projections, qkvGradient, 0, inputGradient);
            copy.write(inputGradient, 0, nIn * t, inputEpsilon, (long) b * nIn * t);
        }
        Gradient gradient = new DefaultGradient();
        for (int m = 0; m < 3; m++) {
            INDArray view = gradTable.get(WEIGHTS.get(m));
            view.assign(Nd4j.create(Arrays.copyOfRange(projectionGradient, m * hp * nIn, (m + 1) * hp * nIn),
                    view.shape(), 'c'));
            gradient.setGradientFor(WEIGHTS.get(m), view);
        }
        INDArray outView = gradTable.get(OUTPUT_WEIGHTS);
        outView.assign(Nd4j.create(Arrays.copyOf(outputGradient, hp * nOut), outView.shape(), 'c'));
        gradient.setGradientFor(OUTPUT_WEIGHTS, outView);
        return new Pair<>(gradient, inputEpsilon);
    }

    /**
     * Each of the {@code n} rows of {@code a} ([n, n]) replaced by its softmax, the row's max subtracted first; exp
     * by {@link FastMath} in float networks ({@code exact} false), a vectorised loop of its own.
     */
    private static void softmaxRows(double[] a, int n, boolean exact) {
        for (int row = 0; row < n * n; row += n) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = row; k < row + n; k++) {
                max = Math.max(max, a[k]);
            }
            if (exact) {
                for (int k = row; k < row + n; k++) {
                    a[k] = Math.exp(a[k] - max);
                }
            } else {
                for (int k = row; k < row + n; k++) {
                    a[k] = FastMath.expNonPositive(a[k] - max);
                }
            }
            double sum = 0;
            for (int k = row; k < row + n; k++) {
                sum += a[k];
            }
            double inverse = 1 / sum;
            for (int k = row; k < row + n; k++) {
                a[k] *= inverse;
            }
        }
    }

    /**
     * The softmax's backward pass, row by row: {@code g} (the gradient of each row's softmax {@code s}) becomes the
     * gradient of the row's inputs, s (g - s . g).
     */
    private static void softmaxBackwardRows(double[] s, double[] g, int n) {
        for (int row = 0; row < n * n; row += n) {
            double dot = 0;
            for (int k = row; k < row + n; k++) {
                dot += s[k] * g[k];
            }
            for (int k = row; k < row + n; k++) {
                g[k] = s[k] * (g[k] - dot);
            }
        }
    }

    /**
     * c = alpha op(a) op(b) + beta c, row-major: op(a) is [m, k], op(b) [k, n], c [m, n]; a is stored [m, k] or,
     * transposed, [k, m], and b [k, n] or [n, k].
     */
    private static void gemm(boolean transposeA, boolean transposeB, int m, int n, int k, double alpha, double[] a,
                             double[] b, double beta, double[] c) {
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, a, transposeA ? m : k, b, transposeB ? k : n, beta, c, n);
    }

    /** {@code a}, or a new array if it is shorter than {@code length}, with its first {@code length} zero. */
    private static double[] zeros(double[] a, int length) {
        double[] z = HeapCopy.reuse(a, length);
        Arrays.fill(z, 0, length, 0);
        return z;
    }

}
