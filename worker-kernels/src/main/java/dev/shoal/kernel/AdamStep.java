package dev.shoal.kernel;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.api.TrainingConfig;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * The whole of DL4J's update for networks trained with Adam and at most L2 regularization, in one pass over
 * copies of the parameters and the updater state on the Java heap: divide the summed gradient by the
 * minibatch, add the L2 term, take Adam's step, subtract it from the parameters. DL4J's updater does the same
 * as some twenty native operations and a good deal of bookkeeping per step (0.96 ms for the 235,000 parameters
 * of the Fashion-MNIST MLP, a quarter of its step); the JIT vectorises this loop (0.07 ms), and copying the
 * parameters back and the gradient in costs 0.03 ms each. The formula and the state are DL4J's: the same
 * learning-rate schedule, the same Adam state layout, so snapshots and saved models do not change.
 *
 * <p>The heap copies are the state between {@link #load()} and {@link #store()}: the parameters are written back
 * to the network after every step (the next forward pass reads them), the updater state only by {@link #store()}.
 * Networks with anything else in their update (another updater, L1 or weight decay, gradient normalization,
 * parameters not divided by the minibatch such as batch normalization's statistics, pretraining blocks) get
 * null from {@link #of} and keep DL4J's updater, as do networks of more than {@link #MAX_PARAMS} parameters,
 * whose heap copies (16 bytes per parameter) would weigh on an executor's heap.
 */
final class AdamStep {
    /** The largest network the step takes on: 8 M parameters, 128 MB of heap copies. */
    static final long MAX_PARAMS = 1 << 23;
    /** Values an Adam step updates before it sums their squares, while they are in cache. */
    private static final int CHUNK = 2048;
    /** Independent running sums of squares. */
    private static final int LANES = 4;

    private final MultiLayerNetwork net;
    private final List<Block> blocks;
    private final float[] params;
    private final float[] m;
    private final float[] v;
    private final float[] gradient;
    /** Per variable, the sum of the squares of its parameters, valid while {@link #squaresCurrent}. */
    private final double[] squares;
    private boolean squaresCurrent;

    /** One DL4J updater block: a range of parameters with one Adam configuration and its state views. */
    private record Block(Adam config, int start, INDArray mView, INDArray vView, List<Variable> variables) {
    }

    /**
     * One parameter array of a layer, as a range of the network's flattened parameters, and its L2 coefficient;
     * {@code index} counts the network's variables.
     */
    private record Variable(int index, int start, int end, ISchedule l2) {
        /** Whether the L2 coefficient can be other than zero: only then the score needs the squares. */
        boolean penalized() {
            return !(l2 instanceof FixedSchedule) || l2.valueAt(0, 0) != 0;
        }
    }

    private AdamStep(MultiLayerNetwork net, List<Block> blocks) {
        this.net = net;
        this.blocks = blocks;
        int n = (int) net.numParams();
        params = new float[n];
        m = new float[n];
        v = new float[n];
        gradient = new float[n];
        squares = new double[blocks.stream().mapToInt(b -> b.variables().size()).sum()];
        load();
    }

    /** The fused step for {@code net}, or null when its update has anything the step does not cover. */
    static AdamStep of(MultiLayerNetwork net) {
        return of(net, MAX_PARAMS);
    }

    /** As {@link #of(MultiLayerNetwork)}, for networks of at most {@code maxParams} parameters. */
    static AdamStep of(MultiLayerNetwork net, long maxParams) {
        if (net.numParams() > maxParams || !net.conf().isMiniBatch() || net.getUpdater() == null) {
            return null;
        }
        List<Block> blocks = new ArrayList<>();
        int index = 0;
        for (UpdaterBlock block : ((BaseMultiLayerUpdater<?>) net.getUpdater()).getUpdaterBlocks()) {
            if (!(block.getGradientUpdater() instanceof AdamUpdater adam) || block.skipDueToPretrainConfig(false)) {
                return null;
            }
            List<Variable> variables = new ArrayList<>();
            for (UpdaterBlock.ParamState p : block.getLayersAndVariablesInBlock()) {
                ISchedule l2 = l2Only(p.getLayer(), p.getParamName());
                if (l2 == null) {
                    return null;
                }
                variables.add(new Variable(index++, p.getParamOffsetStart(), p.getParamOffsetEnd(), l2));
            }
            blocks.add(new Block(adam.getConfig(), block.getParamOffsetStart(), adam.getM(), adam.getV(), variables));
        }
        return new AdamStep(net, blocks);
    }

    /**
     * The L2 coefficient of a parameter whose update is plain (no gradient normalization, divided by the
     * minibatch, no regularization but L2): its schedule, a zero one when it has none; null otherwise.
     */
    private static ISchedule l2Only(Trainable layer, String param) {
        TrainingConfig config = layer.getConfig();
        GradientNormalization normalization = config.getGradientNormalization();
        if (normalization != null && normalization != GradientNormalization.None
                || !layer.updaterDivideByMinibatch(param)) {
            return null;
        }
        List<Regularization> regularizations = config.getRegularizationByParam(param);
        if (regularizations == null || regularizations.isEmpty()) {
            return new FixedSchedule(0);
        }
        if (regularizations.size() == 1 && regularizations.get(0) instanceof L2Regularization l2) {
            return l2.getL2();
        }
        return null;
    }

    /** Takes the network's parameters and updater state as the state of the step (after they were set). */
    void load() {
        floats(net.params()).get(params);
        squaresCurrent = false;
        for (Block b : blocks) {
            floats(b.mView()).get(m, b.start(), (int) b.mView().length());
            floats(b.vView()).get(v, b.start(), (int) b.vView().length());
        }
    }

    /** Writes the updater state back into the network's, where snapshots and saved models read it. */
    void store() {
        for (Block b : blocks) {
            floats(b.mView()).put(m, b.start(), (int) b.mView().length());
            floats(b.vView()).put(v, b.start(), (int) b.vView().length());
        }
    }

    /** One step with the gradient in the network's gradient array, summed over {@code examples} examples. */
    void step(int examples) {
        floats(net.getFlattenedGradients()).get(gradient);
        step(gradient, examples);
    }

    /**
     * One step with {@code summed} (the first {@link MultiLayerNetwork#numParams()} values: a gradient summed
     * over {@code examples} examples) at DL4J's current iteration and epoch; the parameters land in the network.
     */
    void step(float[] summed, int examples) {
        int iteration = net.getLayerWiseConfigurations().getIterationCount();
        int epoch = net.getLayerWiseConfigurations().getEpochCount();
        for (Block b : blocks) {
            Adam config = b.config();
            float beta1 = (float) config.getBeta1();
            float beta2 = (float) config.getBeta2();
            float epsilon = (float) config.getEpsilon();
            float alpha = FastAdam.stepSize(config, iteration, epoch);
            for (Variable var : b.variables()) {
                float l2 = (float) var.l2().valueAt(iteration, epoch);
                float batch = examples;
                double[] lanes = var.penalized() ? new double[LANES] : null;
                for (int from = var.start(); from < var.end(); from += CHUNK) { // CHUNK: a multiple of LANES
                    int to = Math.min(var.end(), from + CHUNK);
                    for (int i = from; i < to; i++) {
                        float g = summed[i] / batch + l2 * params[i];
                        float mi = beta1 * m[i] + (1 - beta1) * g;
                        float vi = beta2 * v[i] + (1 - beta2) * g * g;
                        m[i] = mi;
                        v[i] = vi;
                        params[i] -= mi / ((float) Math.sqrt(vi) + epsilon) * alpha;
                    }
                    if (lanes != null) {
                        addSquares(params, from, to, lanes);
                    }
                }
                squares[var.index()] = lanes == null ? 0 : sum(lanes);
            }
        }
        squaresCurrent = true;
        floats(net.params()).put(params);
    }

    /** Flushes subnormal parameters and moments to zero ({@link Subnormals}); the parameters land in the network. */
    void flushSubnormals() {
        int flushed = Subnormals.flush(params) + Subnormals.flush(m) + Subnormals.flush(v);
        if (flushed > 0) {
            squaresCurrent = false;
            floats(net.params()).put(params);
        }
    }

    /**
     * DL4J's regularization score of the current parameters: the sum over parameters of l2 / 2 * |w|^2. The sums
     * of squares come from the last step, which took them while the parameters it had just updated were in cache
     * (a pass of their own over the parameters was 6% of the Fashion-MNIST MLP's training time).
     */
    double regularizationScore() {
        int iteration = net.getLayerWiseConfigurations().getIterationCount();
        int epoch = net.getLayerWiseConfigurations().getEpochCount();
        double score = 0;
        for (Block b : blocks) {
            for (Variable var : b.variables()) {
                double l2 = var.l2().valueAt(iteration, epoch);
                if (l2 != 0) {
                    score += l2 * 0.5 * squares(var);
                }
            }
        }
        return score;
    }

    /** The sum of the squares of a variable's parameters: the last step's, or taken now after a load or flush. */
    private double squares(Variable var) {
        if (!squaresCurrent) {
            for (Block b : blocks) {
                for (Variable each : b.variables()) {
                    double[] lanes = new double[LANES];
                    addSquares(params, each.start(), each.end(), lanes);
                    squares[each.index()] = sum(lanes);
                }
            }
            squaresCurrent = true;
        }
        return squares[var.index()];
    }

    /**
     * Adds the squares of {@code a[from..to)} to {@code lanes}, round robin from lane 0, the last lanes of a
     * range whose length is not a multiple of {@link #LANES} left short: a range summed in pieces of multiples of
     * {@link #LANES} gets the very sums of one pass. Independent sums run at the CPU's throughput where one running
     * sum waits for each addition to finish.
     */
    private static void addSquares(float[] a, int from, int to, double[] lanes) {
        double s0 = lanes[0];
        double s1 = lanes[1];
        double s2 = lanes[2];
        double s3 = lanes[3];
        int i = from;
        for (; i + LANES <= to; i += LANES) {
            s0 += a[i] * a[i];
            s1 += a[i + 1] * a[i + 1];
            s2 += a[i + 2] * a[i + 2];
            s3 += a[i + 3] * a[i + 3];
        }
        lanes[0] = s0 + (i < to ? a[i] * a[i] : 0);
        lanes[1] = s1 + (i + 1 < to ? a[i + 1] * a[i + 1] : 0);
        lanes[2] = s2 + (i + 2 < to ? a[i + 2] * a[i + 2] : 0);
        lanes[3] = s3;
    }

    private static double sum(double[] lanes) {
        return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    }

    private static FloatBuffer floats(INDArray a) {
        return WorkerKernel.floats(a.reshape(a.length()));
    }
}
