package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.AugmentConfig;
import dev.shoal.driver.plan.CheckpointConfig;
import dev.shoal.driver.plan.EarlyStoppingConfig;
import dev.shoal.driver.plan.GradientEncoding;
import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.driver.plan.StopMetric;
import dev.shoal.driver.plan.SyncConfig;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * DESIGN.md's invariant "a resumed run ends with the same parameters as an uninterrupted one", bit for bit, from
 * checkpoints taken mid-epoch and at epoch ends, for averaging (with dropout, whose masks are random) and for
 * threshold gradient sharing (whose encoder residuals must survive the restart); plus early stopping and the
 * NaN guard, which decide what is saved.
 */
class ResumeTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    private TrainingData data;

    @BeforeEach
    void data() {
        List<ExampleBlock> blocks = List.of(AveragingInvariantsTest.block(96, 5), AveragingInvariantsTest.block(96, 6));
        JavaRDD<ExampleBlock> rdd = SPARK.sc().parallelize(blocks, blocks.size()).cache();
        data = new TrainingData(rdd, 192, 96);
    }

    @AfterEach
    void unpersist() {
        data.blocks().unpersist();
    }

    /** 2 workers, batch 16: 6 steps an epoch per worker, 3 rounds of 2 when averaging. */
    private static TrainingPlan plan(SyncStrategy strategy, int epochs, double dropout, int checkpointEvery,
                                     EarlyStoppingConfig stopping) {
        TrainingPlan p = AveragingInvariantsTest.plan(UpdaterType.ADAM, ScheduleType.EXPONENTIAL, 2, 2, 16, epochs);
        ModelConfig m = p.model();
        return new TrainingPlan(p.name(), p.data(),
                new ModelConfig(m.type(), m.hidden(), m.activation(), m.weightInit(), dropout, m.l1(), m.l2(),
                        m.loss()),
                p.optimizer(),
                new TrainingConfig(epochs, 16, p.training().seed(), stopping, AugmentConfig.OFF),
                new SyncConfig(strategy, 2, 2, 1,
                        new SharingConfig(GradientEncoding.THRESHOLD, 0.05, 10, 3, false)),
                p.spark(), p.output(), new CheckpointConfig("", checkpointEvery, 3), p.gate());
    }

    private record Run(TrainingResult result, List<TrainingState> checkpoints) {
    }

    /** Trains from {@code start}; every checkpoint goes through the file codec on its way to the list. */
    private Run train(TrainingPlan plan, TrainingState start) {
        String json = AveragingInvariantsTest.networkJson(plan);
        List<TrainingState> checkpoints = new ArrayList<>();
        TrainingResult result = new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE, m -> { })
                .run(start, data, data, s -> checkpoints.add(viaFile(s)));
        return new Run(result, checkpoints);
    }

    private Run train(TrainingPlan plan) {
        String json = AveragingInvariantsTest.networkJson(plan);
        return train(plan, new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE, m -> { })
                .fresh(new WorkerKernel(json).snapshot()));
    }

    private static TrainingState viaFile(TrainingState s) {
        return dev.shoal.driver.run.CheckpointStoreAccess.roundTrip(s);
    }

    private static TrainingState at(List<TrainingState> states, int epoch, int round) {
        return states.stream().filter(s -> s.epoch() == epoch && s.round() == round).findFirst()
                .orElseThrow(() -> new AssertionError("no checkpoint at epoch " + epoch + ", round " + round));
    }

    private static void assertSameEpochs(List<Metrics.Epoch> expected, List<Metrics.Epoch> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            Metrics.Epoch a = expected.get(i);
            Metrics.Epoch b = actual.get(i);
            assertEquals(a.examples(), b.examples(), "epoch " + (i + 1));
            assertEquals(a.trainLoss(), b.trainLoss(), "epoch " + (i + 1));
            assertEquals(a.testLoss(), b.testLoss(), "epoch " + (i + 1));
            assertEquals(a.testAccuracy(), b.testAccuracy(), "epoch " + (i + 1));
        }
    }

    @Test
    void averagingWithDropoutResumedMidEpochOrAtAnEpochEndEqualsTheUninterruptedRunBitForBit() {
        TrainingPlan plan = plan(SyncStrategy.AVERAGING, 3, 0.2, 1, EarlyStoppingConfig.OFF);
        Run whole = train(plan);
        // Every round but an epoch's last, and every epoch end: 3 x (2 + 1).
        assertEquals(9, whole.checkpoints().size());

        for (TrainingState from : List.of(at(whole.checkpoints(), 1, 2), at(whole.checkpoints(), 2, 0),
                at(whole.checkpoints(), 0, 1))) {
            Run resumed = train(plan, from);
            assertEquals(whole.result().model(), resumed.result().model(),
                    "resumed at epoch " + from.epoch() + ", round " + from.round());
            assertSameEpochs(whole.result().epochs(), resumed.result().epochs());
        }
    }

    @Test
    void thresholdSharingResumedAtAnEpochEndEqualsTheUninterruptedRunBecauseTheResidualsAreKept() {
        TrainingPlan plan = plan(SyncStrategy.GRADIENT_SHARING, 3, 0, 0, EarlyStoppingConfig.OFF);
        Run whole = train(plan);
        assertEquals(3, whole.checkpoints().size(), "one per epoch");
        TrainingState afterOne = at(whole.checkpoints(), 1, 0);
        assertEquals(2, ((SyncState.Sharing) afterOne.sync()).residuals().size());

        Run resumed = train(plan, afterOne);
        assertEquals(whole.result().model(), resumed.result().model());
        assertSameEpochs(whole.result().epochs(), resumed.result().epochs());

        // The residuals matter: dropping them gives another model, so the equality above is not by accident.
        TrainingState withoutResiduals = new TrainingState(1, afterOne.model(), SyncState.Sharing.NONE,
                afterOne.history(), Optional.empty(), afterOne.bestEpoch());
        assertNotEquals(whole.result().model(), train(plan, withoutResiduals).result().model());
    }

    @Test
    void earlyStoppingEndsTheRunAndRestoresTheBestEpochAlsoAfterAResume() {
        // min-delta 1: no accuracy can improve on the first epoch's, so patience 2 stops after epoch 3.
        EarlyStoppingConfig stopping = new EarlyStoppingConfig(2, StopMetric.ACCURACY, 1.0, true);
        TrainingPlan plan = plan(SyncStrategy.AVERAGING, 6, 0, 0, stopping);
        Run run = train(plan);

        assertTrue(run.result().stoppedEarly());
        assertEquals(3, run.result().epochs().size());
        assertEquals(1, run.result().modelEpoch());
        assertEquals(at(run.checkpoints(), 1, 0).model().atEpoch(1), run.result().model(), "the first epoch's model");
        assertEquals(at(run.checkpoints(), 1, 0).model(), at(run.checkpoints(), 3, 0).best().orElseThrow());

        Run resumed = train(plan, at(run.checkpoints(), 2, 0));
        assertEquals(run.result().model(), resumed.result().model());
        assertEquals(3, resumed.result().epochs().size(), "stops where the uninterrupted run stopped");
        Run afterStop = train(plan, at(run.checkpoints(), 3, 0));
        assertEquals(run.result().model(), afterStop.result().model());
        assertTrue(afterStop.checkpoints().isEmpty(), "nothing left to train");

        TrainingPlan keepLast = plan(SyncStrategy.AVERAGING, 6, 0, 0,
                new EarlyStoppingConfig(2, StopMetric.ACCURACY, 1.0, false));
        Run last = train(keepLast);
        assertEquals(3, last.result().modelEpoch());
        assertEquals(at(last.checkpoints(), 3, 0).model().atEpoch(3), last.result().model());
    }

    @Test
    void aDivergingRunStopsWithAClearErrorAndEveryCheckpointItLeftIsFinite() {
        TrainingPlan base = plan(SyncStrategy.AVERAGING, 3, 0, 1, EarlyStoppingConfig.OFF);
        OptimizerConfig o = base.optimizer();
        TrainingPlan plan = new TrainingPlan(base.name(), base.data(), base.model(),
                new OptimizerConfig(UpdaterType.SGD, 1e30, o.momentum(), o.beta1(), o.beta2(), o.rmsDecay(),
                        o.epsilon(), new ScheduleConfig(ScheduleType.NONE, 0.5, 1)),
                base.training(), base.sync(), base.spark(), base.output(), base.checkpoint(), base.gate());
        String json = AveragingInvariantsTest.networkJson(plan);
        List<TrainingState> checkpoints = new ArrayList<>();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE, m -> { }).run(
                        TrainingState.start(new WorkerKernel(json).snapshot(), SyncState.Averaging.EPOCH_START),
                        data, data, checkpoints::add));

        assertTrue(e.getMessage().matches("(?s).*(became (NaN|Infinity|-Infinity)).*no model.*"), e.getMessage());
        assertTrue(e.getMessage().contains("epoch 1"), e.getMessage());
        for (TrainingState s : checkpoints) {
            assertEquals(-1, s.model().firstNonFinite(), "checkpoint at round " + s.round());
        }
    }
}
