package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.GradientEncoding;
import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.driver.plan.SyncConfig;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.MiniBatch;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.sharing.ThresholdEncoder;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.testing.Rounding;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import dev.shoal.kernel.config.ConfigException;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.factory.Nd4j;

/** Gradient sharing on local[2]: identical replicas, the combined-batch invariant, and a peer killed mid-epoch. */
class GradientSharingTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    private static final int BATCH = 16;

    private static TrainingPlan sharing(UpdaterType updater, GradientEncoding encoding, int epochs, boolean verify) {
        TrainingPlan p = AveragingInvariantsTest.plan(updater, ScheduleType.EXPONENTIAL, 2, 1, BATCH, epochs);
        return new TrainingPlan(p.name(), p.data(), p.model(), p.optimizer(), p.training(),
                new SyncConfig(SyncStrategy.GRADIENT_SHARING, 2, 1, 1,
                        new SharingConfig(encoding, 0.05, 10, 3, verify)),
                p.spark(), p.output(), p.checkpoint(), p.gate());
    }

    private record Run(TrainingResult result, List<Metrics> metrics) {
    }

    private static Run train(TrainingPlan plan, List<ExampleBlock> blocks) {
        return train(plan, blocks, WorkerFault.NONE);
    }

    private static Run train(TrainingPlan plan, List<ExampleBlock> blocks, WorkerFault fault) {
        String json = AveragingInvariantsTest.networkJson(plan);
        TrainingData data = data(blocks);
        List<Metrics> metrics = new ArrayList<>();
        try {
            TrainingResult result = new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE, metrics::add,
                    fault).run(new WorkerKernel(json).snapshot(), data, data);
            return new Run(result, metrics);
        } finally {
            data.blocks().unpersist();
        }
    }

    private static TrainingData data(List<ExampleBlock> blocks) {
        JavaRDD<ExampleBlock> rdd = SPARK.sc().parallelize(blocks, blocks.size()).cache();
        int total = blocks.stream().mapToInt(ExampleBlock::size).sum();
        int largest = blocks.stream().mapToInt(ExampleBlock::size).max().orElseThrow();
        return new TrainingData(rdd, total, largest);
    }

    private static List<Metrics.Stage> stages(Run run) {
        return run.metrics().stream().filter(m -> m instanceof Metrics.Stage).map(m -> (Metrics.Stage) m).toList();
    }

    @Test
    void thresholdReplicasAreBitIdenticalAfterEveryStepAndLearn() {
        // verify-replicas: every worker hashes its parameters after every step; the driver compares them all
        // and fails the run on the first difference.
        Run run = train(sharing(UpdaterType.ADAM, GradientEncoding.THRESHOLD, 3, true),
                List.of(AveragingInvariantsTest.block(400, 5), AveragingInvariantsTest.block(390, 6)));

        List<Metrics.Stage> stages = stages(run);
        assertEquals(3, stages.size());
        for (Metrics.Stage s : stages) {
            assertEquals(25, s.steps(), "ceil(400 / 16) steps, the shorter worker idles on the last");
            assertEquals(790, s.examples(), "every example once per epoch");
            assertEquals(1, s.attempt());
            assertTrue(s.sentFraction() > 0 && s.sentFraction() < 0.2, "sent fraction " + s.sentFraction());
            assertTrue(s.threshold() > 0);
            assertTrue(s.bytesPerStep() > 0 && s.bytesPerStep() < 4.0 * 300, "bytes/step " + s.bytesPerStep());
            // One worker's parts: they fit in the stage's time (each part's maximum over workers need not).
            assertTrue(s.computeMs() > 0 && s.exchangeMs() > 0, s.toString());
            assertTrue(s.computeMs() + s.encodeMs() + s.exchangeMs() + s.applyMs() <= s.totalMs(), s.toString());
        }
        assertTrue(stages.get(2).loss() < stages.get(0).loss(), "loss falls");

        // One step record per step, in order; together they account for their stage's examples, bytes and loss.
        List<Metrics.Step> steps = run.metrics().stream().filter(m -> m instanceof Metrics.Step)
                .map(m -> (Metrics.Step) m).toList();
        assertEquals(3 * 25, steps.size());
        for (int e = 0; e < 3; e++) {
            List<Metrics.Step> epoch = steps.subList(25 * e, 25 * (e + 1));
            Metrics.Stage stage = stages.get(e);
            for (int i = 0; i < 25; i++) {
                assertEquals(e + 1, epoch.get(i).epoch());
                assertEquals(i + 1, epoch.get(i).step());
                assertTrue(epoch.get(i).sentFraction() > 0 && epoch.get(i).threshold() > 0);
            }
            assertEquals(16 + 6, epoch.get(24).examples(), "the last step: 16 examples from one worker, 6 from the other");
            assertEquals(790, epoch.stream().mapToLong(Metrics.Step::examples).sum());
            assertEquals(stage.bytesSent(), epoch.stream().mapToLong(Metrics.Step::bytesSent).sum());
            double loss = epoch.stream().mapToDouble(s -> s.loss() * s.examples()).sum() / 790;
            Rounding.assertClose("epoch " + (e + 1) + "'s loss from its steps", stage.loss(), loss);
        }
        assertTrue(run.result().lastEvaluation().accuracy() > 0.8, "accuracy " + run.result().lastEvaluation().accuracy());
    }

    @Test
    void whatAnEncoderHasNotSentCarriesOverToTheNextStage() {
        TrainingPlan plan = sharing(UpdaterType.SGD, GradientEncoding.THRESHOLD, 2, false);
        String json = AveragingInvariantsTest.networkJson(plan);
        List<ExampleBlock> blocks = List.of(AveragingInvariantsTest.block(64, 2), AveragingInvariantsTest.block(64, 3));
        TrainingData data = data(blocks);
        try {
            GradientSharing sharing = new GradientSharing(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE,
                    m -> { }, WorkerFault.NONE);
            Strategy.EpochWork first = sharing.epoch(data, data, new WorkerKernel(json).snapshot(), 0,
                    SyncState.Sharing.NONE, w -> { });
            // The workers evaluated the epoch's model in the stage, as the driver evaluates it (2 workers: the
            // same sum of 2 losses in either order).
            EvalResult inStage = first.evaluation().orElseThrow().result();
            EvalResult byDriver = Trainer.evaluate(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE,
                    first.model(), data);
            assertArrayEquals(byDriver.confusion(), inStage.confusion());
            assertEquals(byDriver.examples(), inStage.examples());
            assertEquals(byDriver.lossSum(), inStage.lossSum());
            float[][] unsent = ((SyncState.Sharing) first.state()).residuals().toArray(float[][]::new);
            // The second stage on one batch per worker: one step to replay.
            List<ExampleBlock> small = List.of(AveragingInvariantsTest.block(BATCH, 4),
                    AveragingInvariantsTest.block(BATCH, 5));
            TrainingData oneStep = data(small);
            // The evaluation job above made the workers' session yield its cores; the second epoch, on other data,
            // starts a new session, sent the model and every worker's residual.
            Strategy.EpochWork second = sharing.epoch(oneStep, oneStep, first.model(), 1, first.state(), w -> { });
            sharing.close();
            oneStep.blocks().unpersist();
            float[][] unsentAfter = ((SyncState.Sharing) second.state()).residuals().toArray(float[][]::new);

            // The second stage's one step must have encoded its gradient on top of the first stage's residual:
            // replay that step here, from the same model, batch and residual, and compare what is left.
            for (int rank = 0; rank < 2; rank++) {
                assertTrue(nonZero(unsent[rank]), "worker " + rank + " ended stage 1 with something unsent");
                WorkerKernel kernel = new WorkerKernel(json);
                kernel.start(first.model());
                MiniBatch batch = small.get(rank).batches(Shuffle.orderSeed(42, 1, rank), BATCH, 0, 1).next();
                float[] gradient = new float[kernel.numParams()];
                kernel.gradient(batch, gradient);
                ThresholdEncoder replay = new ThresholdEncoder(unsent[rank], 0.05);
                replay.encode(gradient, batch.rows());
                assertArrayEquals(replay.residual(), unsentAfter[rank], "worker " + rank);
            }
        } finally {
            data.blocks().unpersist();
        }
    }

    private static boolean nonZero(float[] values) {
        for (float v : values) {
            if (v != 0) {
                return true;
            }
        }
        return false;
    }

    @Test
    void denseSgdEqualsOneProcessWithTheCombinedBatch() {
        TrainingPlan plan = sharing(UpdaterType.SGD, GradientEncoding.DENSE, 1, true);
        String json = AveragingInvariantsTest.networkJson(plan);
        List<ExampleBlock> blocks = List.of(AveragingInvariantsTest.block(64, 2), AveragingInvariantsTest.block(64, 3));
        ModelSnapshot start = new WorkerKernel(json).snapshot();

        Run run = train(plan, blocks);

        MultiLayerNetwork plain = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        plain.init();
        plain.setParams(Nd4j.createFromArray(start.params()));
        Iterator<MiniBatch> w0 = blocks.get(0).batches(Shuffle.orderSeed(42, 0, 0), BATCH, 0, Integer.MAX_VALUE);
        Iterator<MiniBatch> w1 = blocks.get(1).batches(Shuffle.orderSeed(42, 0, 1), BATCH, 0, Integer.MAX_VALUE);
        while (w0.hasNext()) {
            plain.fit(AveragingInvariantsTest.concat(w0.next(), w1.next()).toDataSet());
        }
        Rounding.assertSameUpdate("parameters", start.params(), plain.params().toFloatVector(),
                run.result().model().params());
        assertEquals(1.0, stages(run).get(0).sentFraction());
    }

    @Test
    void dynamicAllocationIsRefusedWithAMessageThatSuggestsAveraging() {
        SparkConf conf = new SparkConf().set("spark.dynamicAllocation.enabled", "true");
        ConfigException e = assertThrows(ConfigException.class, () -> GradientSharing.requireStaticAllocation(conf));
        assertEquals("sync.strategy = gradient-sharing: needs a fixed set of executors (Spark barrier mode), but "
                + "spark.dynamicAllocation.enabled is true; disable it or use averaging", e.getMessage());
        GradientSharing.requireStaticAllocation(new SparkConf());
    }

    @Test
    void aPeerKilledMidEpochFailsTheStageWhichRunsAgainAndTheRunCompletes() {
        Run run = train(sharing(UpdaterType.ADAM, GradientEncoding.THRESHOLD, 2, false),
                List.of(AveragingInvariantsTest.block(200, 7), AveragingInvariantsTest.block(200, 8)),
                new WorkerFault(1, 7));

        List<Metrics.Stage> stages = stages(run);
        assertEquals(2, stages.size(), "one completed stage per epoch");
        assertEquals(2, stages.get(0).attempt(), "epoch 1 ran twice: worker 1 died at step 7 of the first");
        assertEquals(1, stages.get(1).attempt());
        for (Metrics.Stage s : stages) {
            assertEquals(400, s.examples(), "the retried epoch counts every example once");
        }
        assertEquals(2 * 13, run.result().model().iteration());
    }
}
