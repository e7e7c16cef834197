package dev.shoal.kernel;

import dev.shoal.kernel.config.KernelOptions;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One DL4J network on an executor, reused round after round.
 *
 * <p>Lifecycle: built once per executor JVM slot by {@link KernelPool} from the network's JSON configuration;
 * then for each round {@link #train} loads a snapshot, runs one DL4J step (forward, backward, updater) per
 * minibatch and reports the resulting state; {@link #evaluate} loads a snapshot and scores batches without
 * changing it. Not thread-safe: one task uses a kernel at a time. A step is DL4J's (same gradient, same
 * updater, same state), but networks of dense layers get their forward and backward passes from
 * {@link DenseBackprop}, which does the same arithmetic with far fewer native calls, convolution layers
 * theirs from {@link FastConvolution}, ReLU layers their gradient from {@link FastRelu}, and networks trained
 * with Adam their update from {@link AdamStep}.
 *
 * <p>Minibatches are copied into off-heap arrays allocated once per batch shape and reused, so training
 * allocates no native memory per step (ND4J frees native memory only when the Java GC collects its owner).
 */
public final class WorkerKernel {
    private final MultiLayerNetwork net;
    /** Faster forward/backward passes for networks of dense layers; null for the others (DL4J's own then). */
    private final DenseBackprop dense;
    /** DL4J's update in one pass, for networks trained with Adam; null for the others (DL4J's updater then). */
    private final AdamStep adamStep;
    /** The network's whole flattened gradient, as DL4J's updater expects it. */
    private final Gradient flatGradient;
    private final Map<Integer, INDArray[]> batchBuffers = new HashMap<>();
    private final Target target;
    /** The adversarial steps of a GAN; null for every other network. */
    private final Gan gan;
    private final List<String> speedUps;
    /** Scratch for {@link Subnormals}' flush of native arrays; null when the flush is off. */
    private final float[] flushScratch;

    /** A kernel of a classifier. */
    public WorkerKernel(String networkJson) {
        this(networkJson, Target.CLASS);
    }

    public WorkerKernel(String networkJson, Target target) {
        this(networkJson, target, KernelOptions.ALL);
    }

    /** A kernel with the speed-ups {@code options} allows, where they apply to the network. */
    public WorkerKernel(String networkJson, Target target, KernelOptions options) {
        this.target = target;
        net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(networkJson));
        net.init();
        net.initGradientsView(); // DL4J would create it at the first fit; the views below need it now
        Map<String, Integer> engaged = new LinkedHashMap<>();
        if (options.fastRelu()) {
            engaged.put("FastRelu", FastRelu.install(net));
        }
        dense = options.denseBackprop() ? DenseBackprop.of(net) : null;
        engaged.put("DenseBackprop", dense == null ? 0 : 1);
        if (options.fastConvolution()) {
            engaged.put("FastConvolution", FastConvolution.install(net));
            engaged.put("FastPooling", FastPooling.preferred() ? FastPooling.install(net) : 0);
        }
        if (options.fastLstm()) {
            engaged.put("FastLstm", FastLstm.install(net));
        }
        if (options.fastAttention()) {
            engaged.put("FastAttention", FastAttention.install(net));
        }
        if (options.fastEmbedding()) {
            engaged.put("FastEmbedding", FastEmbedding.install(net));
        }
        gan = target == Target.IMAGES ? Gan.of(net) : null;
        adamStep = gan == null && options.fastAdam() ? AdamStep.of(net) : null;
        engaged.put("AdamStep", adamStep == null ? 0 : 1);
        if (adamStep == null && options.fastAdam()) {
            engaged.put("FastAdam", FastAdam.install(net));
        }
        flushScratch = options.flushSubnormals() ? new float[4096] : null;
        engaged.put("Subnormals", flushScratch == null ? 0 : 1);
        engaged.values().removeIf(n -> n == 0);
        speedUps = List.copyOf(engaged.keySet());
        flatGradient = new DefaultGradient(net.getFlattenedGradients());
    }

    /** The speed-ups engaged in this kernel's network (each where it applies), by class name. */
    public List<String> speedUps() {
        return speedUps;
    }

    /**
     * Trains from {@code start} on every batch of {@code batches}, one DL4J step per batch.
     * Returns {@link WorkerResult#empty()} when there are no batches.
     */
    public WorkerResult train(ModelSnapshot start, Iterator<MiniBatch> batches) {
        WorkerResult figures = steps(start, batches);
        if (figures.workers() == 0) {
            return figures;
        }
        return WorkerResult.of(net.params().toFloatVector(), updaterState(), figures.examples(),
                figures.maxSteps(), figures.lossSum(), figures.computeNanos(), figures.memory());
    }

    /**
     * {@link #train}'s result in {@link WorkerResultCodec}'s bytes, the same bytes, copied in bulk from the
     * network's arrays: what an averaging stage sends its peers after a round. Written into {@code reuse} when
     * that is the encoding's size (the caller's bytes of the round before, read by then).
     */
    public byte[] trainEncoded(ModelSnapshot start, Iterator<MiniBatch> batches, byte[] reuse) {
        WorkerResult figures = steps(start, batches);
        if (figures.workers() == 0) {
            return WorkerResultCodec.encode(figures);
        }
        storeUpdaterState();
        return WorkerResultCodec.encode(figures, floats(net.params()),
                updaterStates().stream().map(WorkerKernel::floats).toList(), reuse);
    }

    /** The steps of {@link #train}; their figures, without the model (empty when there were no batches). */
    private WorkerResult steps(ModelSnapshot start, Iterator<MiniBatch> batches) {
        load(start);
        long begin = System.nanoTime();
        int steps = 0;
        long examples = 0;
        double lossSum = 0;
        while (batches.hasNext()) {
            MiniBatch batch = batches.next();
            if (gan != null) {
                lossSum += gan.step(toDataSet(batch).getFeatures()) * batch.rows();
            } else {
                lossSum += computeGradient(batch) * batch.rows();
                applyGradient(batch.rows());
            }
            examples += batch.rows();
            steps++;
        }
        long compute = System.nanoTime() - begin;
        return steps == 0 ? WorkerResult.empty()
                : WorkerResult.of(new float[0], new float[0], examples, steps, lossSum, compute, MemoryUse.now());
    }

    /**
     * Seeds the random draws of training (dropout masks) on this thread. Seeded from the run's seed and the
     * position in the data before every round, a round draws the same masks whenever it runs: on a retry, on
     * another executor, or after a resume.
     */
    public void seedRandom(long seed) {
        Nd4j.getRandom().setSeed(seed);
    }

    /** Loads {@code s} as the starting point of a run of gradient-sharing steps ({@link #gradient}, {@link #step}). */
    public void start(ModelSnapshot s) {
        load(s);
    }

    public int numParams() {
        return (int) net.numParams();
    }

    /**
     * Computes the gradient at the current parameters into {@code out} and returns the mean loss. Like all DL4J
     * gradients before the updater, it is summed over the minibatch's examples, without regularization: the
     * updater in {@link #step} divides by the minibatch size and adds the penalties.
     */
    public double gradient(MiniBatch batch, float[] out) {
        double score = computeGradient(batch);
        floats(net.getFlattenedGradients()).get(out);
        return score;
    }

    /**
     * One DL4J step with {@code gradient} (a sum over {@code examples} examples) in place of the network's own:
     * the updater divides by {@code examples}, adds regularization, applies the learning-rate schedule and turns
     * it into an update; the parameters take it and the iteration counter advances, as {@code fit} does.
     * Replicas that apply the same gradient from the same state stay identical. Only the first
     * {@link #numParams()} values of {@code gradient} are read.
     */
    public void step(float[] gradient, int examples) {
        if (adamStep != null) {
            adamStep.step(gradient, examples);
            nextIteration();
        } else {
            floats(net.getFlattenedGradients()).put(gradient, 0, numParams());
            applyGradient(examples);
        }
    }

    /** Forward and backward on {@code batch}: the gradient lands in the network's gradient array; returns the score. */
    private double computeGradient(MiniBatch batch) {
        DataSet data = toDataSet(batch);
        if (dense != null) {
            return dense.compute(data.getFeatures(), data.getLabels()) + regularizationScore();
        }
        net.setInput(data.getFeatures());
        net.setLabels(data.getLabels());
        net.computeGradientAndScore();
        return net.score();
    }

    /** DL4J's regularization term of the score (L1, L2, weight decay) for the current parameters. */
    private double regularizationScore() {
        return adamStep != null ? adamStep.regularizationScore() : net.calcRegularizationScore(true);
    }

    /** The rest of a DL4J training step: the updater turns the gradient array into an update, which is applied. */
    private void applyGradient(int examples) {
        if (adamStep != null) {
            adamStep.step(examples);
        } else {
            var conf = net.getLayerWiseConfigurations();
            net.getUpdater().update(net, flatGradient, conf.getIterationCount(), conf.getEpochCount(), examples,
                    LayerWorkspaceMgr.noWorkspaces());
            INDArray params = net.params();
            params.subi(net.getFlattenedGradients().reshape(params.shape()));
        }
        nextIteration();
    }

    private void nextIteration() {
        var conf = net.getLayerWiseConfigurations();
        conf.setIterationCount(conf.getIterationCount() + 1);
        if (flushScratch != null && Subnormals.due(conf.getIterationCount())) {
            flushSubnormals();
        }
    }

    /** Sets subnormal parameters and updater state to zero: see {@link Subnormals}. */
    private void flushSubnormals() {
        if (adamStep != null) {
            adamStep.flushSubnormals();
            return;
        }
        Subnormals.flush(floats(net.params()), flushScratch);
        for (INDArray state : updaterStates()) {
            Subnormals.flush(floats(state), flushScratch);
        }
    }

    /**
     * Scores {@code model} on {@code batches}: the summed loss and, when the target has one, the confusion matrix
     * of the predicted classes (for next tokens: of every step's).
     */
    public EvalResult evaluate(ModelSnapshot model, Iterator<MiniBatch> batches) {
        load(model);
        int numClasses = 0;
        long[] confusion = new long[0];
        double lossSum = 0;
        long examples = 0;
        boolean denseClasses = dense != null && dense.classifies() && target.hasAccuracy();
        // The same for every batch: the parameters do not change here.
        double penalty = denseClasses ? regularizationScore() : 0;
        int[] predicted = new int[0];
        while (batches.hasNext()) {
            MiniBatch batch = batches.next();
            DataSet data = toDataSet(batch);
            boolean counted = denseClasses || target.hasAccuracy() && gan == null && !data.hasMaskArrays();
            if (counted && numClasses == 0) {
                numClasses = batch.numClasses();
                confusion = new long[numClasses * numClasses];
            }
            double loss;
            if (denseClasses) {
                if (predicted.length < batch.rows()) {
                    predicted = new int[batch.rows()];
                }
                loss = dense.evaluate(data.getFeatures(), data.getLabels(), predicted) / batch.rows() + penalty;
                int[] truth = batch.labels();
                for (int r = 0; r < batch.rows(); r++) {
                    confusion[truth[r] * numClasses + predicted[r]]++;
                }
            } else if (counted) {
                loss = countAndScore(data, confusion);
            } else {
                loss = gan != null ? gan.score(data.getFeatures()) : net.score(data, false);
            }
            lossSum += loss * batch.rows();
            examples += batch.rows();
        }
        return examples == 0 ? EvalResult.empty() : new EvalResult(confusion, numClasses, lossSum, examples);
    }

    /** Evaluation's memory: sized by its first minibatch, reset after each. */
    private static final WorkspaceConfiguration EVALUATION = WorkspaceConfiguration.builder()
            .initialSize(0).overallocationLimit(0.05)
            .policyLearning(LearningPolicy.FIRST_LOOP).policyAllocation(AllocationPolicy.OVERALLOCATE)
            .policySpill(SpillPolicy.REALLOCATE).policyReset(ResetPolicy.BLOCK_LEFT).build();
    private static final String EVALUATION_WORKSPACE = "SHOAL_EVALUATION";

    /**
     * Adds the network's predictions on {@code data} to {@code confusion} and returns the loss DL4J's
     * {@code score(data, false)} gives, from one forward pass: DL4J's {@code output} and {@code score} each make
     * their own, which doubled the time of every evaluation. As {@code score} does: the layers below the output
     * layer with their input preprocessors, then the output layer's activations and its score with the
     * regularisation terms.
     *
     * <p>Every array of the pass lives in one workspace, reset after each minibatch. DL4J's
     * {@code feedForwardToLayer}, which this used, detaches every layer's activations, which the garbage collector
     * frees, and a fixed heap calls it rarely: DL4J's LSTM even allocates its whole output, [batch, units, time],
     * before it asks FastLstm for it, 12.5 MB per minibatch of 256 for imdb-lstm, and evaluation's garbage raised
     * imdb-lstm's resident memory by 1.4 GB from its second epoch (see worker-kernels/README.md).
     */
    private double countAndScore(DataSet data, long[] confusion) {
        int last = net.getnLayers() - 1;
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        LayerWorkspaceMgr inWorkspace = LayerWorkspaceMgr.builder()
                .defaultWorkspace(EVALUATION_WORKSPACE, EVALUATION).build();
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(EVALUATION,
                EVALUATION_WORKSPACE)) {
            INDArray x = data.getFeatures();
            int batch = (int) x.size(0);
            for (int i = 0; i <= last; i++) {
                if (conf.getInputPreProcess(i) != null) {
                    x = conf.getInputPreProcess(i).preProcess(x, batch, inWorkspace);
                }
                if (i < last) {
                    x = net.getLayer(i).activate(x, false, inWorkspace);
                }
            }
            var output = (org.deeplearning4j.nn.api.layers.IOutputLayer) net.getOutputLayer();
            output.setInput(x, inWorkspace);
            output.setLabels(data.getLabels());
            INDArray predictions = output.activate(false, inWorkspace);
            double loss = output.computeScore(net.calcRegularizationScore(true), false, inWorkspace);
            count(confusion, data.getLabels().argMax(1), predictions.argMax(1));
            net.clearLayersStates();
            return loss;
        }
    }

    /** Adds each (true, predicted) pair of classes, given as same-shaped arrays of indices, to the matrix. */
    private static void count(long[] confusion, INDArray truth, INDArray predicted) {
        int numClasses = (int) Math.sqrt(confusion.length);
        long[] t = truth.ravel().toLongVector();
        long[] p = predicted.ravel().toLongVector();
        for (int i = 0; i < t.length; i++) {
            confusion[(int) t[i] * numClasses + (int) p[i]]++;
        }
    }

    /** The network's current state. */
    public ModelSnapshot snapshot() {
        return new ModelSnapshot(net.params().toFloatVector(), updaterState(), net.getIterationCount(),
                net.getEpochCount());
    }

    /** Loads {@code s} and returns the network, for saving a model on the driver. */
    public MultiLayerNetwork network(ModelSnapshot s) {
        load(s);
        return net;
    }

    private void load(ModelSnapshot s) {
        if (s.params().length != net.numParams()) {
            throw new IllegalArgumentException("snapshot has " + s.params().length
                    + " parameters but the network has " + net.numParams());
        }
        copyInto(net.params(), s.params());
        List<INDArray> states = updaterStates();
        long stateSize = states.stream().mapToLong(INDArray::length).sum();
        if (s.updaterState().length != stateSize) {
            throw new IllegalArgumentException("snapshot has " + s.updaterState().length
                    + " updater values but the network's updater has " + stateSize);
        }
        int offset = 0;
        for (INDArray state : states) {
            floats(state).put(s.updaterState(), offset, (int) state.length());
            offset += (int) state.length();
        }
        net.getLayerWiseConfigurations().setIterationCount(s.iteration());
        net.getLayerWiseConfigurations().setEpochCount(s.epoch());
        if (adamStep != null) {
            adamStep.load();
        }
    }

    private float[] updaterState() {
        storeUpdaterState();
        List<INDArray> states = updaterStates();
        float[] all = new float[(int) states.stream().mapToLong(INDArray::length).sum()];
        int offset = 0;
        for (INDArray state : states) {
            floats(state).get(all, offset, (int) state.length());
            offset += (int) state.length();
        }
        return all;
    }

    /** Brings the network's updater state up to date with the fast updater's, which keeps its own copy. */
    private void storeUpdaterState() {
        if (adamStep != null) {
            adamStep.store();
        }
    }

    /** The updater states: the network's, and a GAN discriminator's, which has an updater of its own. */
    private List<INDArray> updaterStates() {
        List<INDArray> states = new ArrayList<>();
        for (INDArray state : new INDArray[] {net.getUpdater().getStateViewArray(),
            gan == null ? null : gan.discriminatorUpdaterState()}) {
            if (state != null) {
                states.add(state);
            }
        }
        return states;
    }

    /**
     * The values of a contiguous float vector or c-order array, in place: bulk copies in and out without
     * allocating.
     */
    static FloatBuffer floats(INDArray a) {
        if (a.dataType() != DataType.FLOAT || !a.isVector() && a.ordering() != 'c' || a.elementWiseStride() != 1) {
            throw new IllegalStateException("expected a contiguous float array, got " + a.shapeInfoToString());
        }
        FloatBuffer buffer = a.data().asNioFloat();
        buffer.position((int) a.offset());
        return buffer.slice().limit((int) a.length());
    }

    private static void copyInto(INDArray target, float[] values) {
        floats(target).put(values);
    }

    /** The batch as the network's input and labels, in buffers reused for every batch of the same size. */
    private DataSet toDataSet(MiniBatch batch) {
        int rows = batch.rows();
        int width = batch.featureSize();
        INDArray[] buffers = batchBuffers.computeIfAbsent(rows, r -> switch (target) {
            case CLASS -> new INDArray[] {Nd4j.create(DataType.FLOAT, r, width),
                Nd4j.create(DataType.FLOAT, r, batch.numClasses())};
            case FEATURES, IMAGES -> new INDArray[] {Nd4j.create(DataType.FLOAT, r, width),
                Nd4j.create(DataType.FLOAT, r, width)};
            case NEXT_TOKENS -> new INDArray[] {Nd4j.create(DataType.FLOAT, r, width - 1),
                Nd4j.create(DataType.FLOAT, r, batch.numClasses(), width - 1)};
        });
        switch (target) {
            case CLASS -> {
                copyInto(buffers[0], batch.features());
                copyInto(buffers[1], batch.oneHotLabels());
            }
            case FEATURES, IMAGES -> {
                copyInto(buffers[0], batch.features());
                copyInto(buffers[1], batch.features());
            }
            case NEXT_TOKENS -> {
                int steps = width - 1;
                float[] input = new float[rows * steps];
                float[] next = new float[rows * batch.numClasses() * steps];
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(batch.features(), r * width, input, r * steps, steps);
                    for (int t = 0; t < steps; t++) {
                        int token = (int) batch.features()[r * width + t + 1];
                        next[(r * batch.numClasses() + token) * steps + t] = 1f;
                    }
                }
                copyInto(buffers[0], input);
                copyInto(buffers[1], next);
            }
        }
        return new DataSet(buffers[0], buffers[1]);
    }
}
