package dev.shoal.kernel;

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
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh;
import org.nd4j.linalg.api.ops.impl.transforms.same.OneMinus;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The forward and backward passes of DL4J's LSTM layer (no peepholes, sigmoid gates, tanh activation), plugged in
 * where DL4J takes a cuDNN helper ({@link LSTMHelper}), so the layer's configuration, parameters and saved models
 * stay DL4J's own.
 *
 * <p>Why: DL4J 1.0.0-M2.1 multiplies the input weights one time step at a time, and its backward pass makes the
 * weight gradients and the input gradient with small products at every step, copying gate arrays as it goes. Here
 * the input products of all steps are one matrix product; every step's state is kept units-first ([units,
 * batch], c order), so each gate is a contiguous block of rows; the activations' slopes are computed for all steps
 * at once; and the backward pass gathers every step's gate gradients, then makes the three weight gradients and
 * the input gradient with one product each. Only the recurrent product and the element-wise ops stay per step.
 * Same arithmetic as DL4J's (gate order: block input, forget, output, input modulation), in another order.
 *
 * <p>Anything else (masks, a stored state, backwards direction, other activations) returns null, and DL4J then
 * runs its built-in path; networks trained with truncated BPTT do not get the helper. Not thread-safe: one per
 * layer of a network that one thread trains.
 */
public final class FastLstm implements LSTMHelper {
    /** The input, [nIn, time, batch]: the right-hand side of the input products of all steps at once. */
    private INDArray inputs;
    /** Every step's gate activations and, in the backward pass, their gradients: [time, 4 x units, batch]. */
    private INDArray gates;
    private INDArray gateGradients;
    /** Every step's cell state, its tanh and the output, [time, units, batch]. */
    private INDArray cells;
    private INDArray cellTanh;
    private INDArray outputs;
    /** The output gradient from above, [time, units, batch], to which the recurrent gradient is added. */
    private INDArray outputGradients;
    /** The outputs shifted one step later, [units, time, batch]; the input gradient, [nIn, time, batch]. */
    private INDArray previousOutputs;
    private INDArray inputGradients;
    /** [4 x units, time, batch]: the gates' products over all steps, and later their gradients, in that order. */
    private INDArray work;
    /** The slopes of the gates' and the cells' activations at every step, shaped as {@link #gates}, {@link #cells}. */
    private INDArray gateSlopes;
    private INDArray cellSlopes;
    /** [units, batch]: a cell gradient, the one carried back, and a temporary. */
    private INDArray cellGradient;
    private INDArray cellGradientNext;
    private INDArray temp;
    /** The forward pass this helper made last, whose arrays the backward pass reads. */
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
        return Map.of("buffers", Buffers.bytes(inputs, gates, gateGradients, cells, cellTanh, outputs,
                outputGradients, previousOutputs, inputGradients, work, gateSlopes, cellSlopes, cellGradient,
                cellGradientNext, temp));
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
        long batch = input.size(0);
        long steps = input.size(2);
        long units = recurrentWeights.size(0);
        long nIn = input.size(1);
        inputs = Buffers.reuse(inputs, input, new long[] {nIn, steps, batch});
        inputs.assign(input.permute(1, 2, 0));
        gates = Buffers.reuse(gates, input, new long[] {steps, 4 * units, batch});
        work = Buffers.reuse(work, input, new long[] {4 * units, steps, batch});
        Nd4j.gemm(inputWeights, matrix(inputs), matrix(work), true, false, 1.0, 0.0);
        matrix(work).addiColumnVector(biases.reshape(4 * units, 1));
        gates.assign(work.permute(1, 0, 2));
        cells = Buffers.reuse(cells, input, new long[] {steps, units, batch});
        cellTanh = Buffers.reuse(cellTanh, input, cells.shape());
        outputs = Buffers.reuse(outputs, input, cells.shape());
        temp = Buffers.reuse(temp, input, new long[] {units, batch});
        for (long t = 0; t < steps; t++) {
            INDArray g = step(gates, t);
            if (t > 0) {
                Nd4j.gemm(recurrentWeights, step(outputs, t - 1), g, true, false, 1.0, 1.0);
            }
            INDArray a = rows(g, 0, units);
            Nd4j.getExecutioner().exec(new Tanh(a, a));
            INDArray sigmoids = rows(g, units, 4 * units); // forget, output, input modulation
            Nd4j.getExecutioner().exec(new Sigmoid(sigmoids, sigmoids));
            INDArray c = step(cells, t);
            mul(a, rows(g, 3 * units, 4 * units), c);
            if (t > 0) {
                mul(rows(g, units, 2 * units), step(cells, t - 1), temp);
                c.addi(temp);
            }
            INDArray tc = step(cellTanh, t);
            Nd4j.getExecutioner().exec(new Tanh(c, tc));
            mul(rows(g, 2 * units, 3 * units), tc, step(outputs, t));
        }
        FwdPassReturn result = new FwdPassReturn();
        result.fwdPassOutput = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(),
                new long[] {batch, units, steps}, 'f');
        result.fwdPassOutput.assign(outputs.permute(2, 1, 0));
        result.lastAct = step(outputs, steps - 1).transpose().dup('f');
        result.lastMemCell = step(cells, steps - 1).transpose().dup('f');
        last = result;
        return result;
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
        long batch = input.size(0);
        long steps = input.size(2);
        long units = recurrentWeights.size(0);
        long nIn = input.size(1);
        outputGradients = Buffers.reuse(outputGradients, epsilon, cells.shape());
        outputGradients.assign(epsilon.permute(2, 1, 0));
        gateGradients = Buffers.reuse(gateGradients, epsilon, gates.shape());
        long[] state = {units, batch};
        cellGradient = Buffers.reuse(cellGradient, epsilon, state);
        cellGradientNext = Buffers.reuse(cellGradientNext, epsilon, state);
        // The activations' slopes at every step, all at once: s (1 - s) for the sigmoid gates, 1 - a^2 for the
        // block input, 1 - tanh(c)^2 for the cells.
        gateSlopes = Buffers.reuse(gateSlopes, epsilon, gates.shape());
        Nd4j.getExecutioner().exec(new OneMinus(gates, gateSlopes));
        gateSlopes.muli(gates);
        INDArray blockInputs = gates.get(NDArrayIndex.all(), NDArrayIndex.interval(0, units), NDArrayIndex.all());
        INDArray blockSlopes = gateSlopes.get(NDArrayIndex.all(), NDArrayIndex.interval(0, units),
                NDArrayIndex.all());
        mul(blockInputs, blockInputs, blockSlopes);
        blockSlopes.rsubi(1.0);
        cellSlopes = Buffers.reuse(cellSlopes, epsilon, cells.shape());
        mul(cellTanh, cellTanh, cellSlopes);
        cellSlopes.rsubi(1.0);
        for (long t = steps - 1; t >= 0; t--) {
            INDArray dh = step(outputGradients, t); // already holds the gradient through step t + 1
            INDArray g = step(gates, t);
            INDArray dg = step(gateGradients, t);
            // The gates' gradients before their slopes. Output gate: dh * tanh(c).
            mul(dh, step(cellTanh, t), rows(dg, 2 * units, 3 * units));
            // The cell: dh * o * (1 - tanh(c)^2), plus what flows back from step t + 1 through its forget gate.
            mul(dh, rows(g, 2 * units, 3 * units), cellGradient);
            cellGradient.muli(step(cellSlopes, t));
            if (t < steps - 1) {
                cellGradient.addi(cellGradientNext);
            }
            // Forget gate: dc * c(t - 1); nothing at the first step, whose previous cell is zero.
            if (t > 0) {
                mul(cellGradient, step(cells, t - 1), rows(dg, units, 2 * units));
            } else {
                rows(dg, units, 2 * units).assign(0);
            }
            // Input modulation gate: dc * a; block input: dc * m.
            mul(cellGradient, rows(g, 0, units), rows(dg, 3 * units, 4 * units));
            mul(cellGradient, rows(g, 3 * units, 4 * units), rows(dg, 0, units));
            dg.muli(step(gateSlopes, t));
            mul(cellGradient, rows(g, units, 2 * units), cellGradientNext);
            if (t > 0) {
                Nd4j.gemm(recurrentWeights, dg, step(outputGradients, t - 1), false, false, 1.0, 1.0);
            }
        }
        work.assign(gateGradients.permute(1, 0, 2));
        INDArray dGates = matrix(work);
        INDArray biasGradient = gradientViews.get(biasWeightKey);
        biasGradient.assign(dGates.sum(1).reshape(biasGradient.shape()));
        Nd4j.gemm(matrix(inputs), dGates, gradientViews.get(inputWeightKey), false, true, 1.0, 0.0);
        shiftOutputs(units, steps, batch);
        Nd4j.gemm(matrix(previousOutputs), dGates, gradientViews.get(recurrentWeightKey), false, true, 1.0, 0.0);
        inputGradients = Buffers.reuse(inputGradients, epsilon, inputs.shape());
        Nd4j.gemm(inputWeights, dGates, matrix(inputGradients), false, false, 1.0, 0.0);
        INDArray epsilonOut = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(),
                new long[] {batch, nIn, steps}, 'f');
        epsilonOut.assign(inputGradients.permute(2, 0, 1));
        Gradient gradient = new DefaultGradient();
        gradient.setGradientFor(inputWeightKey, gradientViews.get(inputWeightKey));
        gradient.setGradientFor(recurrentWeightKey, gradientViews.get(recurrentWeightKey));
        gradient.setGradientFor(biasWeightKey, biasGradient);
        return new Pair<>(gradient, epsilonOut);
    }

    /** Fills {@link #previousOutputs}: at each step the step before's output, [units, time, batch]; zero at 0. */
    private void shiftOutputs(long units, long steps, long batch) {
        previousOutputs = Buffers.reuse(previousOutputs, outputs, new long[] {units, steps, batch});
        previousOutputs.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).assign(0);
        if (steps > 1) {
            previousOutputs.get(NDArrayIndex.all(), NDArrayIndex.interval(1, steps), NDArrayIndex.all())
                    .assign(outputs.get(NDArrayIndex.interval(0, steps - 1)).permute(1, 0, 2));
        }
    }

    private static void mul(INDArray x, INDArray y, INDArray z) {
        Nd4j.getExecutioner().exec(new MulOp(x, y, z));
    }

    /** Step {@code t} of a c-order [time, rows, batch] array: a contiguous [rows, batch] matrix. */
    private static INDArray step(INDArray a, long t) {
        return block(a, t * a.size(1), a.size(1));
    }

    /** Rows [from, to) of a c-order [rows, batch] matrix: contiguous. */
    private static INDArray rows(INDArray m, long from, long to) {
        return block(m, from, to - from);
    }

    /**
     * {@code count} rows of a c-order array's trailing dimension, from row {@code first} of the array seen as
     * [rows, batch]. Made directly on the buffer: ND4J's indexing takes longer than the element-wise op that then
     * runs on such a small matrix.
     */
    private static INDArray block(INDArray a, long first, long count) {
        long batch = a.size(a.rank() - 1);
        return Nd4j.create(a.data(), new long[] {count, batch}, new long[] {batch, 1}, a.offset() + first * batch,
                'c');
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
