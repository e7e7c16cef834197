package dev.shoal.kernel;

import java.util.Arrays;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.recurrent.FwdPassReturn;
import org.deeplearning4j.nn.layers.recurrent.LSTM;
import org.deeplearning4j.nn.layers.recurrent.LSTMHelper;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The forward and backward passes of DL4J's LSTM layer (no peepholes, sigmoid gates, tanh activation), plugged in
 * where DL4J takes a cuDNN helper ({@link LSTMHelper}), so the layer's configuration, parameters and saved models
 * stay DL4J's own.
 *
 * <p>Why: DL4J 1.0.0-M2.1 multiplies the input weights one time step at a time, its backward pass makes the weight
 * gradients and the input gradient with small products at every step, and every element-wise step is an ND4J op
 * call (5-20 µs each, ~10 per time step each way, and a view made for each at ~5 µs). Here the products over all
 * steps are one matrix product each (the input products before the loop; the three weight gradients and the input
 * gradient after it); only the recurrent product stays per step, on buffers made once. Everything element-wise
 * of a step (the four gates' activations, the cell update, its tanh and the output; going back, all the gates'
 * gradients and the cell gradient carried to the step before) is one fused loop in Java over {@code double[]}
 * arrays on the heap, which the JIT vectorises, with tanh and the sigmoid by {@link FastMath} in float networks
 * ({@code Math.tanh}/{@code Math.exp} in double ones, for the gradient check). Native memory and the heap meet
 * only in bulk copies ({@link HeapCopy}): per step, the recurrent product's result in and the new output out
 * (forward), the gates' gradients out and the recurrent gradient in (backward). Same arithmetic as DL4J's (gate
 * order: block input, forget, output, input modulation), in another order, with the element-wise part in double.
 *
 * <p>Layouts: the gates of all steps are [4 x units, time, batch] (each gate's row holds every step, each step's
 * batch contiguous), as the input product makes them; cells, their tanh, the outputs and the output gradients are
 * [time, units, batch], which is also DL4J's [batch, units, time] activations in 'f' order.
 *
 * <p>Anything else (masks, a stored state, backwards direction, other activations) returns null, and DL4J then
 * runs its built-in path; networks trained with truncated BPTT do not get the helper. Not thread-safe: one per
 * layer of a network that one thread trains.
 */
public final class FastLstm implements LSTMHelper {
    /** The input, [nIn, time, batch]: the right-hand side of the input products of all steps at once. */
    private INDArray inputs;
    /** [4 x units, time x batch]: the input products of all steps, and later the gates' gradients. */
    private INDArray work;
    /** [units, batch]: the output of the step before, the right-hand side of the recurrent product. */
    private INDArray previousOutput;
    /** [4 x units, batch]: the recurrent product of a step (forward), a step's gate gradients (backward). */
    private INDArray stepGates;
    /** [units, batch]: the output gradient a step's gates pass to the step before, through the recurrent weights. */
    private INDArray recurrentGradient;
    /** The outputs shifted one step later, [units, time, batch]; the input gradient, [nIn, time, batch]. */
    private INDArray previousOutputs;
    private INDArray inputGradients;

    /** [4 x units, time, batch]: the input products of all steps (forward), the gates' gradients (backward). */
    private double[] products;
    /** Per step: the gates' activations [4 x units, batch]; the cell state, its tanh and the output [units, batch]. */
    private double[][] gates;
    private double[][] cells;
    private double[][] cellTanh;
    private double[][] outputs;
    /** Inference's two steps of gates, cells, their tanh and outputs, in that order. */
    private double[][] inferenceArrays;
    /**
     * [4 x units, batch]: a step's recurrent product (forward) or gate gradients (backward); [units, batch]: the
     * output gradient from above, the part of it that came back from the step after, the cell gradient carried to
     * the step before; zeros, the state before the first step.
     */
    private double[] step;
    private double[] outputGradient;
    private double[] carried;
    private double[] cellGradient;
    private double[] zeros;
    /** [4 x units, batch]: the gates' gradients summed over the steps so far, for the bias gradient. */
    private double[] gradientSums;
    /** The outputs shifted one step later, [units, time, batch]. */
    private double[] shifted;
    private final HeapCopy copy = new HeapCopy();
    /** The training forward pass this helper made last, whose arrays the backward pass reads (and overwrites). */
    private FwdPassReturn last;
    /** The input of {@link #last} when it was a training forward pass, else null. */
    private INDArray trainedOn;
    /** Forward passes computed (not reused) so far. */
    private long forwardPasses;

    /**
     * Plugs a {@code FastLstm} into every LSTM layer of {@code net}, also inside wrappers; returns how many. None
     * for truncated BPTT, whose segments carry state from one to the next.
     */
    public static int install(MultiLayerNetwork net) {
        if (net.getLayerWiseConfigurations().getBackpropType() == BackpropType.TruncatedBPTT) {
            return 0;
        }
        return LayerHelpers.plug(net, LSTM.class, layer -> new FastLstm());
    }

    @Override
    public boolean checkSupported() {
        return true;
    }

    @Override
    public boolean checkSupported(IActivation gateActivationFn, IActivation activationFn, boolean hasPeepholes) {
        return gateActivationFn instanceof ActivationSigmoid && activationFn instanceof ActivationTanH
                && !hasPeepholes;
    }

    @Override
    public Map<String, Long> helperMemoryUse() {
        long heap = 0;
        for (double[] a : new double[][] {products, step, outputGradient, carried, cellGradient, zeros,
                gradientSums, shifted}) {
            heap += a == null ? 0 : (long) a.length * Double.BYTES;
        }
        for (double[][] perStep : Arrays.asList(gates, cells, cellTanh, outputs, inferenceArrays)) {
            heap += perStep == null ? 0 : (long) perStep.length * perStep[0].length * Double.BYTES;
        }
        return Map.of("buffers", Buffers.bytes(inputs, work, previousOutput, stepGates, recurrentGradient,
                previousOutputs, inputGradients), "heap", heap);
    }

    @Override
    public FwdPassReturn activate(Layer layer, NeuralNetConfiguration conf, IActivation gateActivationFn,
                                  INDArray input, INDArray recurrentWeights, INDArray inputWeights, INDArray biases,
                                  boolean training, INDArray prevOutputActivations, INDArray prevMemCellState,
                                  boolean forBackprop, boolean forwards, String inputWeightKey, INDArray maskArray,
                                  boolean hasPeepholeConnections, LayerWorkspaceMgr workspaceMgr) {
        IActivation activation = ((org.deeplearning4j.nn.conf.layers.BaseLayer) conf.getLayer()).getActivationFn();
        if (!checkSupported(gateActivationFn, activation, hasPeepholeConnections) || !forwards || maskArray != null
                || input.rank() != 3 || carriesState(prevOutputActivations) || carriesState(prevMemCellState)) {
            return null;
        }
        if (forBackprop && last != null && input == trainedOn) {
            // DL4J's LSTM runs its forward pass again for the backward pass (its own cache of it is switched off
            // in 1.0.0-M2.1); the training forward pass just made on this input, with these weights, is it.
            return last;
        }
        trainedOn = training && !forBackprop ? input : null;
        forwardPasses++;
        int batch = (int) input.size(0);
        int steps = (int) input.size(2);
        int units = (int) recurrentWeights.size(0);
        long nIn = input.size(1);
        int state = units * batch;
        inputs = Buffers.reuse(inputs, input, new long[] {nIn, steps, batch});
        inputs.assign(input.permute(1, 2, 0));
        work = Buffers.reuse(work, input, new long[] {4L * units, (long) steps * batch});
        Gemm.product(inputWeights, true, matrix(inputs), false, work);
        work.addiColumnVector(biases.reshape(4L * units, 1));
        products = HeapCopy.reuse(products, 4L * steps * state);
        copy.read(work, 0, products, 0, 4 * steps * state);
        // The backward pass reads every step's arrays; inference keeps two steps' (this one and the one before).
        boolean everyStep = training || forBackprop;
        int kept = everyStep ? steps : 2;
        if (everyStep) {
            gates = HeapCopy.reuse(gates, steps, 4 * state);
            cells = HeapCopy.reuse(cells, steps, state);
            cellTanh = HeapCopy.reuse(cellTanh, steps, state);
            outputs = HeapCopy.reuse(outputs, steps, state);
        } else {
            inferenceArrays = HeapCopy.reuse(inferenceArrays, 8, 4 * state); // 2 steps x 4 kinds, a gates' size
        }
        double[][] g = everyStep ? gates : Arrays.copyOfRange(inferenceArrays, 0, 2);
        double[][] c = everyStep ? cells : Arrays.copyOfRange(inferenceArrays, 2, 4);
        double[][] ct = everyStep ? cellTanh : Arrays.copyOfRange(inferenceArrays, 4, 6);
        double[][] h = everyStep ? outputs : Arrays.copyOfRange(inferenceArrays, 6, 8);
        step = HeapCopy.reuse(step, 4L * state);
        zeros = HeapCopy.reuse(zeros, state);
        previousOutput = Buffers.reuse(previousOutput, input, new long[] {units, batch});
        stepGates = Buffers.reuse(stepGates, input, new long[] {4L * units, batch});
        FwdPassReturn result = new FwdPassReturn();
        result.fwdPassOutput = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(),
                new long[] {batch, units, steps}, 'f');
        boolean exact = input.dataType() == DataType.DOUBLE;
        for (int t = 0; t < steps; t++) {
            int now = t % kept;
            int before = (t + kept - 1) % kept;
            if (t > 0) {
                copy.write(h[before], 0, state, previousOutput, 0);
                Gemm.product(recurrentWeights, true, previousOutput, false, stepGates);
                copy.read(stepGates, 0, step, 0, 4 * state);
            } else {
                Arrays.fill(step, 0, 4 * state, 0);
            }
            forwardStep(t, steps, units, batch, exact, g[now], c[now], t > 0 ? c[before] : zeros, ct[now], h[now]);
            copy.write(h[now], 0, state, result.fwdPassOutput, (long) t * state);
        }
        int lastStep = (steps - 1) % kept;
        result.lastAct = Nd4j.createUninitialized(input.dataType(), new long[] {batch, units}, 'f');
        copy.write(h[lastStep], 0, state, result.lastAct, 0);
        result.lastMemCell = Nd4j.createUninitialized(input.dataType(), new long[] {batch, units}, 'f');
        copy.write(c[lastStep], 0, state, result.lastMemCell, 0);
        last = everyStep ? result : null; // an inference pass kept two steps: no backward pass can read it
        return result;
    }

    /** How many forward passes this helper has computed; a training step computes one. */
    long forwardPasses() {
        return forwardPasses;
    }

    /**
     * Step {@code t}: the gates' activations from their input products ({@link #products}) and recurrent products
     * ({@link #step}) into {@code z}, the cell c = a i + f c(t - 1) from {@code previous}, its tanh and the output
     * h = o tanh(c). Each loop reads and writes its arrays at one index (or only reads an array at several), which
     * the JIT vectorises; one loop over all of it did not vectorise and took 35 ns per unit and example.
     */
    private void forwardStep(int t, int steps, int units, int batch, boolean exact, double[] z, double[] c,
                             double[] previous, double[] tc, double[] h) {
        int state = units * batch;
        for (int r = 0; r < 4 * units; r++) {
            int from = (r * steps + t) * batch;
            int to = r * batch;
            for (int b = 0; b < batch; b++) {
                z[to + b] = products[from + b] + step[to + b];
            }
        }
        tanh(z, z, state, exact); // the block input
        sigmoid(z, state, 4 * state, exact); // the forget, output and input modulation gates
        for (int k = 0; k < state; k++) {
            c[k] = z[k] * z[3 * state + k] + z[state + k] * previous[k];
        }
        tanh(c, tc, state, exact);
        for (int k = 0; k < state; k++) {
            h[k] = z[2 * state + k] * tc[k];
        }
    }

    /** {@code to[k] = tanh(from[k])} for k below {@code length}. */
    private static void tanh(double[] from, double[] to, int length, boolean exact) {
        if (exact) {
            for (int k = 0; k < length; k++) {
                to[k] = Math.tanh(from[k]);
            }
        } else {
            for (int k = 0; k < length; k++) {
                to[k] = FastMath.tanh(from[k]);
            }
        }
    }

    /** The sigmoid of {@code a[k]}, in place, for k in [start, end). */
    private static void sigmoid(double[] a, int start, int end, boolean exact) {
        if (exact) {
            for (int k = start; k < end; k++) {
                a[k] = 1 / (1 + Math.exp(-a[k]));
            }
        } else {
            for (int k = start; k < end; k++) {
                a[k] = FastMath.sigmoid(a[k]);
            }
        }
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(NeuralNetConfiguration conf, IActivation gateActivationFn,
                                                     INDArray input, INDArray recurrentWeights,
                                                     INDArray inputWeights, INDArray epsilon, boolean truncatedBPTT,
                                                     int tbpttBackwardLength, FwdPassReturn fwdPass,
                                                     boolean forwards, String inputWeightKey,
                                                     String recurrentWeightKey, String biasWeightKey,
                                                     Map<String, INDArray> gradientViews, INDArray maskArray,
                                                     boolean hasPeepholeConnections,
                                                     LayerWorkspaceMgr workspaceMgr) {
        if (fwdPass != last) {
            if (fwdPass.memCellState == null) { // one of this helper's, whose arrays are gone
                throw new IllegalStateException("FastLstm: a backward pass of an earlier forward pass");
            }
            return null; // DL4J's own forward pass: its backward pass reads the arrays it kept
        }
        last = null; // the input products are overwritten by the gates' gradients below
        trainedOn = null;
        int batch = (int) input.size(0);
        int steps = (int) input.size(2);
        int units = (int) recurrentWeights.size(0);
        long nIn = input.size(1);
        int state = units * batch;
        INDArray above = HeapCopy.dense(epsilon, 'f');
        outputGradient = HeapCopy.reuse(outputGradient, state);
        carried = HeapCopy.reuse(carried, state);
        cellGradient = HeapCopy.reuse(cellGradient, state);
        Arrays.fill(carried, 0, state, 0);
        Arrays.fill(cellGradient, 0, state, 0);
        gradientSums = HeapCopy.reuse(gradientSums, 4L * state);
        Arrays.fill(gradientSums, 0, 4 * state, 0);
        recurrentGradient = Buffers.reuse(recurrentGradient, epsilon, new long[] {units, batch});
        for (int t = steps - 1; t >= 0; t--) {
            copy.read(above, (long) t * state, outputGradient, 0, state);
            backwardStep(t, steps, units, batch);
            if (t > 0) { // what flows back to the step before's output through the recurrent weights
                copy.write(step, 0, 4 * state, stepGates, 0);
                Gemm.product(recurrentWeights, false, stepGates, false, recurrentGradient);
                copy.read(recurrentGradient, 0, carried, 0, state);
            }
        }
        copy.write(products, 0, 4 * steps * state, work, 0);
        INDArray biasGradient = gradientViews.get(biasWeightKey);
        biasGradient.assign(Nd4j.create(rowSums(4 * units, batch)).reshape(biasGradient.shape()));
        Gemm.product(matrix(inputs), false, work, true, gradientViews.get(inputWeightKey));
        shiftOutputs(units, steps, batch, epsilon);
        Gemm.product(matrix(previousOutputs), false, work, true, gradientViews.get(recurrentWeightKey));
        inputGradients = Buffers.reuse(inputGradients, epsilon, inputs.shape());
        Gemm.product(inputWeights, false, work, false, matrix(inputGradients));
        INDArray epsilonOut = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(),
                new long[] {batch, nIn, steps}, 'f');
        epsilonOut.assign(inputGradients.permute(2, 0, 1));
        Gradient gradient = new DefaultGradient();
        gradient.setGradientFor(inputWeightKey, gradientViews.get(inputWeightKey));
        gradient.setGradientFor(recurrentWeightKey, gradientViews.get(recurrentWeightKey));
        gradient.setGradientFor(biasWeightKey, biasGradient);
        return new Pair<>(gradient, epsilonOut);
    }

    /**
     * Step {@code t} backward: from the output gradient (from above, plus what came back from step t + 1) and the
     * cell gradient carried from step t + 1, the gates' gradients (into {@link #step} for the recurrent product,
     * and into their places in {@link #products}) and the cell gradient carried to step t - 1, dc f.
     */
    private void backwardStep(int t, int steps, int units, int batch) {
        int state = units * batch;
        double[] g = gates[t];
        double[] tc = cellTanh[t];
        double[] previous = t > 0 ? cells[t - 1] : zeros;
        for (int k = 0; k < state; k++) {
            double dh = outputGradient[k] + carried[k];
            double blockInput = g[k];
            double forget = g[state + k];
            double output = g[2 * state + k];
            double modulation = g[3 * state + k];
            double dc = dh * output * (1 - tc[k] * tc[k]) + cellGradient[k];
            step[k] = dc * modulation * (1 - blockInput * blockInput);
            step[state + k] = dc * previous[k] * forget * (1 - forget);
            step[2 * state + k] = dh * tc[k] * output * (1 - output);
            step[3 * state + k] = dc * blockInput * modulation * (1 - modulation);
            cellGradient[k] = dc * forget;
        }
        for (int k = 0; k < 4 * state; k++) {
            gradientSums[k] += step[k];
        }
        for (int r = 0; r < 4 * units; r++) {
            int from = r * batch;
            int to = (r * steps + t) * batch;
            for (int b = 0; b < batch; b++) {
                products[to + b] = step[from + b];
            }
        }
    }

    /** The bias gradient: {@link #gradientSums}' rows, each {@code batch} long, summed. */
    private double[] rowSums(int rows, int batch) {
        double[] sums = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int k = r * batch; k < (r + 1) * batch; k++) {
                sums[r] += gradientSums[k];
            }
        }
        return sums;
    }

    /** Fills {@link #previousOutputs}: at each step the step before's output, [units, time, batch]; zero at 0. */
    private void shiftOutputs(int units, int steps, int batch, INDArray like) {
        int row = steps * batch;
        shifted = HeapCopy.reuse(shifted, (long) units * row);
        for (int j = 0; j < units; j++) {
            Arrays.fill(shifted, j * row, j * row + batch, 0);
            for (int t = 1; t < steps; t++) {
                System.arraycopy(outputs[t - 1], j * batch, shifted, j * row + t * batch, batch);
            }
        }
        previousOutputs = Buffers.reuse(previousOutputs, like, new long[] {units, steps, batch});
        copy.write(shifted, 0, units * row, previousOutputs, 0);
    }

    /** A c-order [a, b, c] array as the matrix [a, b x c]. */
    private static INDArray matrix(INDArray a) {
        return a.reshape('c', a.size(0), a.length() / a.size(0));
    }

    /** Whether a previous state was given (rnnTimeStep, truncated BPTT): DL4J passes zeros when there is none. */
    private static boolean carriesState(INDArray state) {
        return state != null && state.amaxNumber().doubleValue() != 0;
    }
}
