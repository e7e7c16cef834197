package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.driver.train.Metrics;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault tests on a real Spark standalone cluster (scripts/local-cluster: a master and two worker JVMs on
 * 127.0.0.1, executors in JVMs of their own). An executor is killed with SIGKILL while the driver trains;
 * the run must complete and have trained every example exactly once per epoch.
 */
class ExecutorKillClusterIT {
    private static final LocalCluster CLUSTER = new LocalCluster("it-cluster");

    @TempDir
    static Path dir;
    private static IdxFixtures.Files4 files;

    @BeforeAll
    static void startCluster() throws Exception {
        CLUSTER.start();
        files = IdxFixtures.writeSynthetic(dir, 6000, 1000, 31);
        System.setProperty("spark.executor.memory", "2g");
        System.setProperty("spark.driver.host", "127.0.0.1");
    }

    @AfterAll
    static void stopCluster() throws Exception {
        System.clearProperty("spark.executor.memory");
        System.clearProperty("spark.driver.host");
        CLUSTER.stop();
    }

    private TrainingPlan plan(String runId, String... settings) {
        List<String> all = new ArrayList<>(List.of("model.type=mlp", "model.hidden=[128]", "training.epochs=3", "sync.workers=2",
                "spark.master=" + CLUSTER.master(), "output.dir=" + dir.resolve("runs"), "output.run-id=" + runId));
        all.addAll(List.of(settings));
        Path job;
        try {
            job = Files.writeString(dir.resolve(runId + ".yaml"), "name: cluster\n" + files.dataSection() + "\n");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return TrainCommand.plan(job, all);
    }

    private record Run(TrainingRun.Outcome outcome, List<Metrics> metrics, List<Long> killed) {
    }

    /** Trains {@code plan}; once {@code trigger} sees its record, an executor is killed {@code delayMs} later. */
    private static Run train(TrainingPlan plan, Predicate<Metrics> trigger, long delayMs) {
        List<Metrics> metrics = new CopyOnWriteArrayList<>();
        List<Long> killed = new CopyOnWriteArrayList<>();
        AtomicBoolean fired = new AtomicBoolean();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        TrainingRun.Outcome outcome = TrainingRun.execute(plan, Preflight.check(plan), PlanBinder.toYaml(plan),
                Optional.empty(), quiet, m -> {
                    metrics.add(m);
                    if (trigger.test(m) && fired.compareAndSet(false, true)) {
                        Thread killer = new Thread(() -> {
                            sleep(delayMs);
                            killed.addAll(CLUSTER.killOneExecutor());
                        });
                        killer.setDaemon(true);
                        killer.start();
                    }
                });
        return new Run(outcome, metrics, killed);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static List<Metrics.Epoch> epochs(Run run) {
        return run.metrics().stream().filter(m -> m instanceof Metrics.Epoch).map(m -> (Metrics.Epoch) m).toList();
    }

    private static void assertEveryExampleOncePerEpoch(Run run) {
        List<Metrics.Epoch> epochs = epochs(run);
        assertEquals(3, epochs.size());
        for (Metrics.Epoch e : epochs) {
            assertEquals(6000, e.examples(), "epoch " + e.epoch());
        }
        assertTrue(Files.exists(run.outcome().directory().resolve("provenance.json")), "the run completed");
    }

    @Test
    void averagingOnTheDriverCompletesWithTheSameAccuracyWhenAnExecutorIsKilledMidRound() {
        // 94 steps per worker and epoch, 10 per round: ten rounds an epoch, a Spark job each.
        String[] settings = {"sync.average-on=driver", "sync.average-every=10", "training.batch-size=32"};
        assertKillCostsNothing("driver", settings,
                m -> m instanceof Metrics.Round r && r.epoch() == 2 && r.round() == 2, 20);
    }

    @Test
    void averagingOnTheWorkersRunsTheStageAgainWhenAnExecutorIsKilledDuringIt() {
        // The epoch's ten rounds are one barrier stage; the kill lands in epoch 2's, which runs again.
        String[] settings = {"sync.average-on=workers", "sync.average-every=10", "training.batch-size=32"};
        assertKillCostsNothing("workers", settings, m -> m instanceof Metrics.Epoch e && e.epoch() == 1, 300);
    }

    private void assertKillCostsNothing(String name, String[] settings, Predicate<Metrics> trigger, long delayMs) {
        Run clean = train(plan("averaging-" + name + "-clean", settings), m -> false, 0);
        Run faulted = train(plan("averaging-" + name + "-killed", settings), trigger, delayMs);

        assertEquals(1, faulted.killed().size(), "an executor was killed");
        assertFalse(ProcessHandle.of(faulted.killed().get(0)).map(ProcessHandle::isAlive).orElse(false));
        assertEveryExampleOncePerEpoch(clean);
        assertEveryExampleOncePerEpoch(faulted);
        for (int epoch = 1; epoch <= 3; epoch++) {
            int e = epoch;
            long trained = faulted.metrics().stream()
                    .filter(m -> m instanceof Metrics.Round r && r.epoch() == e)
                    .mapToLong(m -> ((Metrics.Round) m).examples()).sum();
            assertEquals(6000, trained, "rounds of epoch " + epoch + " count every example once");
        }
        double a = epochs(clean).get(2).testAccuracy();
        double b = epochs(faulted).get(2).testAccuracy();
        assertTrue(Math.abs(a - b) <= 0.005, "accuracy " + b + " with the kill, " + a + " without");
    }

    @Test
    void gradientSharingRunsTheStageAgainWhenAnExecutorIsKilledDuringIt() {
        Run faulted = train(plan("sharing-killed", "sync.strategy=gradient-sharing", "training.batch-size=16",
                        "sync.sharing.peer-timeout-seconds=20"),
                m -> m instanceof Metrics.Epoch e && e.epoch() == 1, 150);

        assertEquals(1, faulted.killed().size(), "an executor was killed");
        assertEveryExampleOncePerEpoch(faulted);
        List<Metrics.Stage> stages = faulted.metrics().stream().filter(m -> m instanceof Metrics.Stage)
                .map(m -> (Metrics.Stage) m).toList();
        assertEquals(List.of(1, 2, 3), stages.stream().map(Metrics.Stage::epoch).toList(),
                "one successful stage per epoch");
        assertTrue(epochs(faulted).get(2).testAccuracy() > 0.8, "accuracy " + epochs(faulted).get(2).testAccuracy());
        System.out.println("gradient sharing after the kill: stage attempts " + stages.stream()
                .map(Metrics.Stage::attempt).toList());
    }

    @Test
    void federatedAveragingRunsTheClientsOfAKilledExecutorAgainAndCountsThemOnce() {
        String[] settings = {"sync.strategy=federated", "sync.federated.clients=12", "sync.federated.fraction=0.5",
            "sync.federated.local-epochs=2", "sync.federated.batch-size=32", "sync.federated.rounds=3"};
        Run clean = train(plan("federated-clean", settings), m -> false, 0);
        Run faulted = train(plan("federated-killed", settings), m -> m instanceof Metrics.Epoch e && e.epoch() == 1,
                100);

        assertEquals(1, faulted.killed().size(), "an executor was killed");
        assertTrue(Files.exists(faulted.outcome().directory().resolve("provenance.json")), "the run completed");
        // Each round: 6 of the 12 clients of 500 examples, two local epochs each.
        List<Long> examples = faulted.metrics().stream().filter(m -> m instanceof Metrics.Round)
                .map(m -> ((Metrics.Round) m).examples()).toList();
        assertEquals(List.of(6000L, 6000L, 6000L), examples, "every sampled client's examples once per round");
        assertEquals(clean.metrics().stream().filter(m -> m instanceof Metrics.Round)
                .map(m -> ((Metrics.Round) m).workers()).toList(), faulted.metrics().stream()
                .filter(m -> m instanceof Metrics.Round).map(m -> ((Metrics.Round) m).workers()).toList());
        double a = epochs(clean).get(2).testAccuracy();
        double b = epochs(faulted).get(2).testAccuracy();
        assertTrue(Math.abs(a - b) <= 0.005, "accuracy " + b + " with the kill, " + a + " without");
    }
}
