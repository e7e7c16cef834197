package dev.shoal.driver.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.AugmentConfig;
import dev.shoal.driver.plan.CheckpointConfig;
import dev.shoal.driver.plan.DataConfig;
import dev.shoal.driver.plan.EarlyStoppingConfig;
import dev.shoal.driver.plan.OutputConfig;
import dev.shoal.driver.plan.GradientEncoding;
import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.driver.plan.SparkConfig;
import dev.shoal.driver.plan.SyncConfig;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.GateConfig;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bench's plain-DL4J baseline must be the same training Shoal does, or its ratios mean nothing: with one
 * worker averaging every step, Shoal is DL4J's own fit on the same batches (pinned in AveragingInvariantsTest),
 * so the baseline, fed the batches Shoal's worker sees, must reach the same accuracy after every epoch.
 */
class BenchSystemsTest {
    @TempDir
    Path dir;

    @Test
    void plainDl4jBaselineTrainsExactlyWhatShoalsOnlyWorkerTrains() throws Exception {
        TrainingPlan plan = plan(SyncStrategy.AVERAGING, 1, 50, "local[1]");
        Preflight.Sources sources = Preflight.check(plan);
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());

        SystemRun dl4j = BenchSystems.run(BenchSystem.DL4J, plan, sources, "", dir, quiet);
        SystemRun shoal = BenchSystems.run(BenchSystem.SHOAL_AVERAGING, plan, sources, "name: x\n", dir, quiet);

        assertEquals(3, dl4j.epochs().size());
        assertEquals(3, shoal.epochs().size());
        for (int e = 0; e < 3; e++) {
            assertEquals(1000, dl4j.epochs().get(e).examples());
            assertEquals(1000, shoal.epochs().get(e).examples());
            // Parameters agree up to rounding (Rounding.RTOL of what training changed), so at most one of the 300
            // test predictions, one that sits on a decision boundary, may flip.
            assertEquals(shoal.epochs().get(e).testAccuracy(), dl4j.epochs().get(e).testAccuracy(), 1.0 / 300 + 1e-9,
                    "epoch " + (e + 1));
            assertTrue(dl4j.epochs().get(e).rssMb() > 0);
            // 1,000 examples in batches of 50 on the one worker: 20 steps; the parts of an epoch's time fit in it.
            for (EpochMeasurement m : List.of(dl4j.epochs().get(e), shoal.epochs().get(e))) {
                assertEquals(20, m.steps(), m.toString());
                assertTrue(m.evalSeconds() > 0, m.toString());
                assertTrue(m.computeSeconds() > 0 && m.exchangeSeconds() >= 0, m.toString());
                assertTrue(m.computeSeconds() + m.exchangeSeconds() <= m.trainSeconds(), m.toString());
            }
        }
        assertTrue(dl4j.epochs().get(2).testAccuracy() > 0.6, "learned: " + dl4j.epochs().get(2));
        assertEquals(0, dl4j.bytesPerStepPerWorker());
        // 784-32-10 MLP: 25,450 parameters; Adam keeps two values per parameter; floats there and back each step.
        assertEquals(2 * 4 * 3 * 25_450, shoal.bytesPerStepPerWorker());
    }

    /** Gradient sharing's workers each take a batch a step, together: 1,000 examples, 2 x 25 a step, 20 steps. */
    @Test
    void gradientSharingCountsTheStepsItsWorkersTookTogether() throws Exception {
        TrainingPlan plan = plan(SyncStrategy.GRADIENT_SHARING, 2, 25, "local[2]");
        SystemRun run = BenchSystems.run(BenchSystem.SHOAL_SHARING_THRESHOLD, plan, Preflight.check(plan),
                "name: x\n", dir, new PrintStream(OutputStream.nullOutputStream()));
        for (EpochMeasurement m : run.epochs()) {
            assertEquals(20, m.steps(), m.toString());
            assertTrue(m.computeSeconds() > 0 && m.exchangeSeconds() > 0, m.toString());
            assertTrue(m.computeSeconds() + m.exchangeSeconds() <= m.trainSeconds(), m.toString());
        }
    }

    private TrainingPlan plan(SyncStrategy strategy, int workers, int batch, String master) throws Exception {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1000, 300, 3);
        return new TrainingPlan("bench-test",
                DataConfig.idx(files.trainImages(), files.trainLabels(), files.testImages(), files.testLabels(), 10),
                new ModelConfig(ModelType.MLP, List.of(32), Activation.RELU, WeightInit.RELU, 0, 0, 1e-4,
                        Loss.MCXENT),
                new OptimizerConfig(UpdaterType.ADAM, 0.005, 0.9, 0.9, 0.999, 0.95, 1e-8,
                        new ScheduleConfig(ScheduleType.EXPONENTIAL, 0.5, 1)),
                new TrainingConfig(3, batch, 7, EarlyStoppingConfig.OFF, AugmentConfig.OFF),
                new SyncConfig(strategy, workers, 1, 1,
                        new SharingConfig(GradientEncoding.THRESHOLD, 0.01, 60, 3, false)),
                new SparkConfig(master, false),
                new OutputConfig(dir.resolve("runs").toString(), "shoal", "", false), CheckpointConfig.DEFAULTS,
                GateConfig.NONE);
    }
}
