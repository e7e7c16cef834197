package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.KernelOptions;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import dev.shoal.kernel.testing.Rounding;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class WorkerKernelTest {
    private static final int BATCH = 16;

    /** The same network as a kernel's, in plain DL4J, with the same initial weights (same seed). */
    private static MultiLayerNetwork plainNetwork(String json) {
        MultiLayerNetwork plain = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        plain.init();
        return plain;
    }

    @ParameterizedTest
    @EnumSource(UpdaterType.class)
    void trainEqualsPlainDl4jFitOnTheSameBatches(UpdaterType updater) {
        assertTrainsAsDl4jFit(networkJson(updater));
    }

    /** With L1, Adam goes through DL4J's updater with FastAdam in its blocks rather than through AdamStep. */
    @Test
    void adamWithL1TrainsAsDl4jFit() {
        assertTrainsAsDl4jFit(KernelFixtures.networkJson(UpdaterType.ADAM, 1e-3));
    }

    /** A ReLU network trained with Adam: every speed-up of a dense network applies to it. */
    private static String reluAdam() {
        ModelConfig model = new ModelConfig(ModelType.MLP, List.of(8), Activation.RELU, WeightInit.RELU, 0, 0, 1e-4,
                Loss.MCXENT);
        return NetworkFactory.build(model, KernelFixtures.optimizer(UpdaterType.ADAM),
                InputShape.vector(KernelFixtures.FEATURES), KernelFixtures.CLASSES, 7).toJson();
    }

    @Test
    void eachSpeedUpCanBeSwitchedOffAndTheKernelSaysWhichAreEngaged() {
        String json = reluAdam();
        assertEquals(List.of("FastRelu", "DenseBackprop", "AdamStep", "Subnormals"),
                new WorkerKernel(json, Target.CLASS, KernelOptions.ALL).speedUps());
        assertEquals(List.of(), new WorkerKernel(json, Target.CLASS, KernelOptions.NONE).speedUps());
        assertEquals(List.of("FastRelu", "DenseBackprop", "Subnormals"),
                speedUps(json, new KernelOptions(true, true, true, true, true, true, false, true)));
        assertEquals(List.of("DenseBackprop", "AdamStep", "Subnormals"),
                speedUps(json, new KernelOptions(false, true, true, true, true, true, true, true)));
        // The convolution and LSTM speed-ups have nothing to take in a dense network.
        assertEquals(List.of("FastRelu", "AdamStep", "Subnormals"),
                speedUps(json, new KernelOptions(true, false, true, true, true, true, true, true)),
                "without DenseBackprop, DL4J's layers run and Adam's one-pass update still applies");
        assertEquals(List.of("FastRelu", "DenseBackprop", "AdamStep"),
                speedUps(json, new KernelOptions(true, true, true, true, true, true, true, false)));
    }

    private static List<String> speedUps(String json, KernelOptions options) {
        return new WorkerKernel(json, Target.CLASS, options).speedUps();
    }

    @Test
    void plainDl4jInsideTheKernelTrainsAsTheSpeedUpsDo() {
        assertTrainsAsDl4jFit(reluAdam(), KernelOptions.NONE);
        assertTrainsAsDl4jFit(reluAdam(), KernelOptions.ALL);
    }

    private static void assertTrainsAsDl4jFit(String json) {
        assertTrainsAsDl4jFit(json, KernelOptions.ALL);
    }

    /** Shoal's kernel computes in another order than DL4J's layers: equal up to rounding ({@link Rounding}). */
    private static void assertTrainsAsDl4jFit(String json, KernelOptions options) {
        ExampleBlock data = KernelFixtures.block(100, 1);
        MultiLayerNetwork plain = plainNetwork(json);
        WorkerKernel kernel = new WorkerKernel(json, Target.CLASS, options);
        ModelSnapshot start = kernel.snapshot();

        WorkerResult result = kernel.train(start, data.batches(11, BATCH, 0, 7));
        for (Iterator<MiniBatch> it = data.batches(11, BATCH, 0, 7); it.hasNext(); ) {
            plain.fit(it.next().toDataSet());
        }

        assertEquals(1, result.workers());
        assertEquals(100, result.examples());
        assertEquals(7, result.maxSteps());
        Rounding.assertSameUpdate("parameters after 7 steps", start.params(), plain.params().toFloatVector(),
                result.average(7, 0).params());
    }

    /** The gradient-sharing path: a step made of gradient() then step() is DL4J's own fit step. */
    @ParameterizedTest
    @EnumSource(UpdaterType.class)
    void gradientThenStepEqualsPlainDl4jFit(UpdaterType updater) {
        String json = networkJson(updater);
        ExampleBlock data = KernelFixtures.block(100, 4);
        MultiLayerNetwork plain = plainNetwork(json);
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot start = kernel.snapshot().atEpoch(1);
        kernel.start(start);
        plain.getLayerWiseConfigurations().setEpochCount(1);
        float[] g = new float[kernel.numParams()];

        int step = 0;
        for (Iterator<MiniBatch> it = data.batches(3, BATCH, 0, 7); it.hasNext(); ) {
            MiniBatch batch = it.next();
            double loss = kernel.gradient(batch, g);
            kernel.step(g, batch.rows());
            plain.fit(batch.toDataSet());
            Rounding.assertClose("loss of step " + ++step, plain.score(), loss);
        }

        ModelSnapshot after = kernel.snapshot();
        Rounding.assertSameUpdate("parameters after 7 steps", start.params(), plain.params().toFloatVector(),
                after.params());
        Rounding.assertClose("updater state after 7 steps", plain.getUpdater().getStateViewArray() == null
                ? new float[0] : plain.getUpdater().getStateViewArray().toFloatVector(), after.updaterState());
        assertEquals(7, after.iteration());
    }

    /** The same code on the same batches, through a snapshot between the rounds: the same bits. */
    @Test
    void twoRoundsOfThreeStepsEqualOneRoundOfSix() {
        String json = networkJson(UpdaterType.ADAM);
        ExampleBlock data = KernelFixtures.block(96, 2);
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot start = kernel.snapshot();

        ModelSnapshot whole = kernel.train(start, data.batches(5, BATCH, 0, 6)).average(6, 0);
        ModelSnapshot half = kernel.train(start, data.batches(5, BATCH, 0, 3)).average(3, 0);
        ModelSnapshot twoHalves = kernel.train(half, data.batches(5, BATCH, 3, 3)).average(6, 0);

        assertArrayEquals(whole.params(), twoHalves.params());
        assertArrayEquals(whole.updaterState(), twoHalves.updaterState());
    }

    @Test
    void aReusedKernelCarriesNoStateBetweenRounds() {
        String json = networkJson(UpdaterType.MOMENTUM);
        ExampleBlock data = KernelFixtures.block(64, 3);
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot start = kernel.snapshot();
        WorkerResult first = kernel.train(start, data.batches(9, BATCH, 0, 4));
        WorkerResult again = kernel.train(start, data.batches(9, BATCH, 0, 4));
        assertArrayEquals(first.paramSum(), again.paramSum());
        assertArrayEquals(first.updaterSum(), again.updaterSum());
    }

    /** The bytes an averaging stage sends, written from the network: the same result as {@code train}'s. */
    @Test
    void trainEncodedGivesTrainsResult() {
        for (KernelOptions options : List.of(KernelOptions.ALL, KernelOptions.NONE)) { // with and without AdamStep
            ExampleBlock data = KernelFixtures.block(64, 3);
            WorkerKernel kernel = new WorkerKernel(reluAdam(), Target.CLASS, options);
            ModelSnapshot start = kernel.snapshot();
            kernel.seedRandom(5);
            WorkerResult trained = kernel.train(start, data.batches(9, BATCH, 0, 4));
            kernel.seedRandom(5);
            byte[] bytes = kernel.trainEncoded(start, data.batches(9, BATCH, 0, 4), new byte[0]);
            WorkerResult encoded = WorkerResultCodec.decode(bytes);
            Arrays.fill(bytes, (byte) 7);
            kernel.seedRandom(5);
            assertSame(bytes, kernel.trainEncoded(start, data.batches(9, BATCH, 0, 4), bytes),
                    "the round before's bytes are written over");
            WorkerResult again = WorkerResultCodec.decode(bytes); // checks every byte (CRC-32C)
            assertArrayEquals(encoded.paramSum(), again.paramSum());
            assertArrayEquals(encoded.updaterSum(), again.updaterSum());
            assertArrayEquals(trained.paramSum(), encoded.paramSum());
            assertArrayEquals(trained.updaterSum(), encoded.updaterSum());
            assertTrue(trained.updaterSum().length > 0);
            assertEquals(List.of(1, 1.0, 64L, 4, trained.lossSum()), List.of(encoded.workers(), encoded.weight(),
                    encoded.examples(), encoded.maxSteps(), encoded.lossSum()));
        }
        WorkerKernel kernel = new WorkerKernel(reluAdam());
        assertEquals(0, WorkerResultCodec.decode(kernel.trainEncoded(kernel.snapshot(),
                Collections.emptyIterator(), new byte[0])).workers(), "no batches, no worker");
    }

    @Test
    void trainingLowersLossAndEvaluationCountsEveryExample() {
        String json = networkJson(UpdaterType.ADAM);
        ExampleBlock train = KernelFixtures.block(512, 4);
        ExampleBlock test = KernelFixtures.block(200, 5);
        WorkerKernel kernel = new WorkerKernel(json);
        ModelSnapshot s = kernel.snapshot();
        EvalResult before = kernel.evaluate(s, test.inOrder(64));
        for (int epoch = 0; epoch < 5; epoch++) {
            s = kernel.train(s.atEpoch(epoch), train.batches(epoch, 32, 0, 16)).average(s.iteration() + 16, epoch);
        }
        EvalResult after = kernel.evaluate(s, test.inOrder(64));
        assertEquals(200, after.examples());
        assertTrue(after.meanLoss() < before.meanLoss() * 0.7, before.meanLoss() + " -> " + after.meanLoss());
        assertTrue(after.accuracy() > 0.8, "accuracy " + after.accuracy());
    }

    /**
     * Evaluation makes one forward pass per minibatch for both the predictions and the loss: the same loss as
     * DL4J's {@code score(data, false)} (regularisation included) and the same predicted classes as its
     * {@code output}, on a dense network with L1 and L2 (DenseBackprop's forward pass; without the speed-ups,
     * DL4J's layers: the same confusion matrix), the lstm-classifier and the attention-classifier. Its arrays live
     * in a workspace reset after each minibatch: evaluating again, after training steps and over two
     * minibatches, gives the same figures bit for bit.
     */
    @ParameterizedTest
    @EnumSource(value = ModelType.class, names = {"MLP", "LSTM_CLASSIFIER", "ATTENTION_CLASSIFIER"})
    void evaluationGivesDl4jsLossAndPredictions(ModelType type) {
        boolean tokens = type != ModelType.MLP;
        ModelConfig model = new ModelConfig(type, List.of(7), Activation.RELU, WeightInit.XAVIER, 0, 1e-3, 1e-2,
                Loss.MCXENT, List.of(1), 8, 12, 4, "", 0, 0, "", "");
        InputShape input = tokens ? InputShape.sequence(9, 40) : InputShape.vector(KernelFixtures.FEATURES);
        MultiLayerConfiguration conf = NetworkFactory.build(model, KernelFixtures.optimizer(UpdaterType.ADAM), input,
                KernelFixtures.CLASSES, 3);
        java.util.SplittableRandom random = new java.util.SplittableRandom(4);
        int rows = 21;
        float[] x = new float[rows * input.size()];
        int[] y = new int[rows];
        for (int i = 0; i < x.length; i++) {
            x[i] = tokens ? random.nextInt(40) : (float) random.nextDouble();
        }
        for (int i = 0; i < rows; i++) {
            y[i] = random.nextInt(KernelFixtures.CLASSES);
        }
        MiniBatch batch = new MiniBatch(x, y, input.size(), KernelFixtures.CLASSES);
        WorkerKernel kernel = new WorkerKernel(conf.toJson());
        ModelSnapshot start = kernel.snapshot();
        EvalResult result = kernel.evaluate(start, List.of(batch).iterator());

        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init(org.nd4j.linalg.factory.Nd4j.createFromArray(start.params()).reshape(1, -1), true);
        if (tokens) {
            FastAttention.install(dl4j); // DL4J's own attention computes the same forward pass, only slower
        }
        var data = batch.toDataSet();
        Rounding.assertClose("mean loss", dl4j.score(data, false), result.meanLoss());
        long[] predicted = dl4j.output(data.getFeatures(), false).argMax(1).toLongVector();
        long right = 0;
        for (int i = 0; i < rows; i++) {
            right += predicted[i] == y[i] ? 1 : 0;
        }
        assertEquals(rows, result.examples());
        assertEquals((double) right / rows, result.accuracy(), 1e-12);
        if (!tokens) {
            EvalResult layers = new WorkerKernel(conf.toJson(), Target.CLASS, KernelOptions.NONE)
                    .evaluate(start, List.of(batch).iterator());
            assertArrayEquals(layers.confusion(), result.confusion());
            Rounding.assertClose("mean loss through DL4J's layers", layers.meanLoss(), result.meanLoss());
        }

        kernel.train(start, List.of(batch, batch).iterator());
        EvalResult again = kernel.evaluate(start, List.of(batch, batch).iterator());
        assertEquals(result.meanLoss(), again.meanLoss());
        assertEquals(result.accuracy(), again.accuracy());
    }

    private static String networkJson(UpdaterType updater) {
        return KernelFixtures.networkJson(updater);
    }
}
