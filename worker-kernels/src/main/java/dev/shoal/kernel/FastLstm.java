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
 * arrays on the heap, which the JIT vectorises, with tanh and the sigmoid by {@link FastTanh} in float networks
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

    /** The gates' activations of every step, [4 x units, time, batch]; overwritten by their gradients. */
    private double[] gates;
    /** Every step's cell state, its tanh, the output and the output gradient, [time, units, batch]. */
    private double[] cells;
    private double[] cellTanh;
    private double[] outputs;
    private double[] outputGradients;
    /** [4 x units, batch]: a step's recurrent product or gate gradients; [units, batch]: the carried cell gradient. */
    private double[] step;
    private double[] cellGradient;
    /** The outputs shifted one step later, [units, time, batch]. */
    private double[] shifted;
    private final HeapCopy copy = new HeapCopy();
    /** The forward pass this helper made last, whose arrays the backward pass reads (and overwrites). */
    private FwdPassReturn last;

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
        for (double[] a : new double[][] {gates, cells, cellTanh, outputs, outputGradients, step, cellGradient,
                shifted}) {
            heap += a == null ? 0 : (long) a.length * Double.BYTES;
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
        int batch = (int) input.size(0);
        int steps = (int) input.size(2);
        int units = (int) recurrentWeights.size(0);
        long nIn = input.size(1);
        int state = units * batch;
        int all = steps * state;
        inputs = Buffers.reuse(inputs, input, new long[] {nIn, steps, batch});
        inputs.assign(input.permute(1, 2, 0));
        work = Buffers.reuse(work, input, new long[] {4L * units, (long) steps * batch});
        Nd4j.gemm(inputWeights, matrix(inputs), work, true, false, 1.0, 0.0);
        work.addiColumnVector(biases.reshape(4L * units, 1));
        gates = HeapCopy.reuse(gates, 4L * all);
        copy.read(work, 0, gates, 0, 4 * all);
        cells = HeapCopy.reuse(cells, all);
        cellTanh = HeapCopy.reuse(cellTanh, all);
        outputs = HeapCopy.reuse(outputs, all);
        step = HeapCopy.reuse(step, 4L * state);
        previousOutput = Buffers.reuse(previousOutput, input, new long[] {units, batch});
        stepGates = Buffers.reuse(stepGates, input, new long[] {4L * units, batch});
        boolean exact = input.dataType() == DataType.DOUBLE;
        for (int t = 0; t < steps; t++) {
            if (t > 0) {
                copy.write(outputs, (t - 1) * state, state, previousOutput, 0);
                Nd4j.gemm(recurrentWeights, previousOutput, stepGates, true, false, 1.0, 0.0);
                copy.read(stepGates, 0, step, 0, 4 * state);
            } else {
                Arrays.fill(step, 0, 4 * state, 0);
            }
            forwardStep(t, steps, units, batch, exact);
        }
        FwdPassReturn result = new FwdPassReturn();
        result.fwdPassOutput = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(),
                new long[] {batch, units, steps}, 'f');
        copy.write(outputs, 0, all, result.fwdPassOutput, 0);
        result.lastAct = Nd4j.createUninitialized(input.dataType(), new long[] {batch, units}, 'f');
        copy.write(outputs, all - state, state, result.lastAct, 0);
        result.lastMemCell = Nd4j.createUninitialized(input.dataType(), new long[] {batch, units}, 'f');
        copy.write(cells, all - state, state, result.lastMemCell, 0);
        last = result;
        return result;
    }

    /**
     * Step {@code t}: the gates' activations from their input products ({@link #gates}) and recurrent products
     * ({@link #step}), the cell c = a i + f c(t - 1), its tanh and the output o tanh(c).
     */
    private void forwardStep(int t, int steps, int units, int batch, boolean exact) {
        int row = steps * batch; // from one gate row to the next in gates
        int state = units * batch;
        for (int j = 0; j < units; j++) {
            int a = j * row + t * batch;
            int f = a + units * row;
            int o = f + units * row;
            int i = o + units * row;
            int ra = j * batch;
            int rf = ra + state;
            int ro = rf + state;
            int ri = ro + state;
            int s = t * state + j * batch;
            for (int b = 0; b < batch; b++) {
                double blockInput = exact ? Math.tanh(gates[a + b] + step[ra + b])
                        : FastTanh.tanh(gates[a + b] + step[ra + b]);
                double forget = sigmoid(gates[f + b] + step[rf + b], exact);
                double output = sigmoid(gates[o + b] + step[ro + b], exact);
                double modulation = sigmoid(gates[i + b] + step[ri + b], exact);
                double c = blockInput * modulation + (t > 0 ? forget * cells[s - state + b] : 0);
                double tc = exact ? Math.tanh(c) : FastTanh.tanh(c);
                gates[a + b] = blockInput;
                gates[f + b] = forget;
                gates[o + b] = output;
                gates[i + b] = modulation;
                cells[s + b] = c;
                cellTanh[s + b] = tc;
                outputs[s + b] = output * tc;
            }
        }
    }

    private static double sigmoid(double x, boolean exact) {
        return exact ? 1 / (1 + Math.exp(-x)) : FastTanh.sigmoid(x);
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
        last = null; // the gates are overwritten by their gradients below
        int batch = (int) input.size(0);
        int steps = (int) input.size(2);
        int units = (int) recurrentWeights.size(0);
        long nIn = input.size(1);
        int state = units * batch;
        int all = steps * state;
        outputGradients = HeapCopy.reuse(outputGradients, all);
        copy.read(denseF(epsilon), 0, outputGradients, 0, all);
        cellGradient = HeapCopy.reuse(cellGradient, state);
        Arrays.fill(cellGradient, 0, state, 0);
        recurrentGradient = Buffers.reuse(recurrentGradient, epsilon, new long[] {units, batch});
        for (int t = steps - 1; t >= 0; t--) {
            backwardStep(t, steps, units, batch);
            if (t > 0) { // the step before's output gradient gets what flows back through the recurrent weights
                copy.write(step, 0, 4 * state, stepGates, 0);
                Nd4j.gemm(recurrentWeights, stepGates, recurrentGradient, false, false, 1.0, 0.0);
                copy.read(recurrentGradient, 0, step, 0, state);
                int previous = (t - 1) * state;
                for (int k = 0; k < state; k++) {
                    outputGradients[previous + k] += step[k];
                }
            }
        }
        copy.write(gates, 0, 4 * all, work, 0);
        INDArray biasGradient = gradientViews.get(biasWeightKey);
        biasGradient.assign(Nd4j.create(rowSums(4 * units, steps * batch)).reshape(biasGradient.shape()));
        Nd4j.gemm(matrix(inputs), work, gradientViews.get(inputWeightKey), false, true, 1.0, 0.0);
        shiftOutputs(units, steps, batch, epsilon);
        Nd4j.gemm(matrix(previousOutputs), work, gradientViews.get(recurrentWeightKey), false, true, 1.0, 0.0);
        inputGradients = Buffers.reuse(inputGradients, epsilon, inputs.shape());
        Nd4j.gemm(inputWeights, work, matrix(inputGradients), false, false, 1.0, 0.0);
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
     * Step {@code t} backward: from the output gradient (already holding what step t + 1 passed back) and the cell
     * gradient carried from step t + 1, the gates' gradients (into {@link #gates}, in place of their activations,
     * and into {@link #step} for the recurrent product) and the cell gradient carried to step t - 1, dc f.
     */
    private void backwardStep(int t, int steps, int units, int batch) {
        int row = steps * batch;
        int state = units * batch;
        for (int j = 0; j < units; j++) {
            int a = j * row + t * batch;
            int f = a + units * row;
            int o = f + units * row;
            int i = o + units * row;
            int ra = j * batch;
            int rf = ra + state;
            int ro = rf + state;
            int ri = ro + state;
            int s = t * state + j * batch;
            for (int b = 0; b < batch; b++) {
                double dh = outputGradients[s + b];
                double blockInput = gates[a + b];
                double forget = gates[f + b];
                double output = gates[o + b];
                double modulation = gates[i + b];
                double tc = cellTanh[s + b];
                double dc = dh * output * (1 - tc * tc) + cellGradient[ra + b];
                double previousCell = t > 0 ? cells[s - state + b] : 0;
                double dBlockInput = dc * modulation * (1 - blockInput * blockInput);
                double dForget = dc * previousCell * forget * (1 - forget);
                double dOutput = dh * tc * output * (1 - output);
                double dModulation = dc * blockInput * modulation * (1 - modulation);
                cellGradient[ra + b] = dc * forget;
                gates[a + b] = dBlockInput;
                gates[f + b] = dForget;
                gates[o + b] = dOutput;
                gates[i + b] = dModulation;
                step[ra + b] = dBlockInput;
                step[rf + b] = dForget;
                step[ro + b] = dOutput;
                step[ri + b] = dModulation;
            }
        }
    }

    /** The sums of {@link #gates}' rows, each {@code length} long: the bias gradient. */
    private double[] rowSums(int rows, int length) {
        double[] sums = new double[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int k = r * length, end = k + length; k < end; k++) {
                sum += gates[k];
            }
            sums[r] = sum;
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
                System.arraycopy(outputs, ((t - 1) * units + j) * batch, shifted, j * row + t * batch, batch);
            }
        }
        previousOutputs = Buffers.reuse(previousOutputs, like, new long[] {units, steps, batch});
        copy.write(shifted, 0, units * row, previousOutputs, 0);
    }

    /** {@code a} if its elements lie in memory in 'f' order without gaps, else such a copy. */
    private static INDArray denseF(INDArray a) {
        return a.ordering() == 'f' && Arrays.equals(a.stride(), Nd4j.getStrides(a.shape(), 'f')) ? a : a.dup('f');
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
