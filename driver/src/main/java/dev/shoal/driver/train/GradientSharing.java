package dev.shoal.driver.train;

import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.sharing.Handshake;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Gradient sharing on Spark: each epoch is one barrier stage with one task per worker (see {@link SharingTask}),
 * all started together; they find each other through the driver's {@link Rendezvous}. The driver holds the model
 * each stage started from; a stage that fails (a peer died, stalled or was killed) is run again from it, up to
 * {@code sync.sharing.stage-attempts} times. After a stage the driver checks that every replica ends with the
 * same parameters, and keeps each worker's encoder residual (what it has not sent yet) to hand it to the next
 * stage: error feedback spans the whole run, not one epoch.
 */
final class GradientSharing implements Strategy {

    private final JavaSparkContext sc;
    private final SharingTask task;
    private final SharingConfig sharing;
    private final Consumer<Metrics> sink;
    private final TrainingPlan plan;
    private final String driverHost;
    /** This run's secret, which every gradient-sharing connection must prove it holds. */
    private final byte[] secret = Handshake.newSecret();
    /** The workers' session, in which the epochs run when the test data has a partition for every worker. */
    private final SessionKeeper sessions;

    GradientSharing(JavaSparkContext sc, TrainingPlan plan, String networkJson, InputShape input,
                    Consumer<Metrics> sink, WorkerFault fault) {
        requireStaticAllocation(sc.getConf());
        this.sc = sc;
        this.plan = plan;
        this.sharing = plan.sync().sharing();
        this.task = new SharingTask(networkJson, plan.model().type().target(), plan.sync().threadsPerWorker(),
                plan.training().batchSize(), Trainer.augmentation(plan, input), plan.training().seed(), sharing,
                fault, secret, plan.kernel());
        this.sink = sink;
        this.driverHost = BarrierStages.driverHost(sc);
        this.sessions = new SessionKeeper(sc, "sharing", driverHost, secret);
    }

    /** Barrier stages need every worker at once: executors that come and go cannot run them. */
    static void requireStaticAllocation(SparkConf conf) {
        BarrierStages.requireStaticAllocation(conf, "sync.strategy", "gradient-sharing", "use averaging");
    }

    @Override
    public SyncState start() {
        return SyncState.Sharing.NONE;
    }

    @Override
    public int epochs() {
        return plan.training().epochs();
    }

    /** Trains one epoch from {@code model} as one stage (run again if it fails); no checkpoint inside it. */
    @Override
    public EpochWork epoch(TrainingData train, TrainingData test, ModelSnapshot model, int epoch, SyncState state,
                           Consumer<EpochWork> midEpoch) {
        Trainer.describeJobs(sc, "epoch " + (epoch + 1) + " gradient sharing");
        int steps = train.batchesPerEpoch(plan.training().batchSize());
        float[][] residuals = ((SyncState.Sharing) state).residuals().toArray(float[][]::new);
        String what = "gradient-sharing stage of epoch " + (epoch + 1);
        if (BarrierStages.zippable(train, test)) {
            return sessions.withAttempts(sharing.stageAttempts(), what, attempt -> sessionEpoch(train, test,
                    model.atEpoch(epoch), state, residuals, epoch, steps, attempt));
        }
        try (Rendezvous rendezvous = new Rendezvous(driverHost, secret)) {
            return BarrierStages.withAttempts(sharing.stageAttempts(), what, attempt -> stage(rendezvous, train,
                    test, model.atEpoch(epoch), residuals, epoch, steps, attempt));
        }
    }

    /**
     * The epoch by the workers' session ({@link SessionKeeper}: started if none runs): the model and the residuals
     * go only if the workers do not hold them (the last epoch's, as answered).
     */
    private EpochWork sessionEpoch(TrainingData train, TrainingData test, ModelSnapshot model, SyncState state,
                                   float[][] residuals, int epoch, int steps, int attempt) {
        long t0 = System.nanoTime();
        SharingTask worker = task;
        List<StageResult> results = sessions.ask(train, test, "training from epoch " + (epoch + 1), worker::serve,
                model, state, held -> new SharingTask.Request(epoch, steps,
                        held.model() ? null : SnapshotCodec.encode(model), held.hash(),
                        held.state() ? null : residuals), StageResult.class, StageResult::rank);
        EpochWork work = finish(results, model, epoch, steps, attempt, t0);
        sessions.held(work.model(), results.get(0).finalHash(), work.state());
        return work;
    }

    @Override
    public void close() {
        sessions.close();
    }

    /** The epoch as one stage, its last model evaluated on {@code test} by the workers. */
    private EpochWork stage(Rendezvous rendezvous, TrainingData train, TrainingData test, ModelSnapshot model,
                            float[][] residuals, int epoch, int steps, int attempt) {
        long t0 = System.nanoTime();
        ModelBroadcast snapshot = ModelBroadcast.of(sc, model);
        Broadcast<float[][]> residualsAtStart = sc.broadcast(residuals);
        // Attempts of one epoch share the rendezvous; the name keeps their registrations apart.
        String stage = "epoch-" + (epoch + 1) + "-attempt-" + attempt;
        SharingTask worker = task;
        Rendezvous.Address at = rendezvous.address();
        List<StageResult> results;
        try {
            results = BarrierStages.run(BarrierStages.blocks(train, test), StageResult.class,
                    blocks -> worker.run(at, stage, snapshot, residualsAtStart.value(), epoch, steps, blocks));
        } finally {
            snapshot.destroy();
            residualsAtStart.destroy();
            rendezvous.forget(stage);
        }
        return finish(results.stream().sorted(Comparator.comparingInt(StageResult::rank)).toList(), model, epoch,
                steps, attempt, t0);
    }

    /**
     * The workers' results (by rank) for the epoch from {@code model}, which started at {@code t0}: checked,
     * reported to the sink (every step, then the stage) and made the epoch's work.
     */
    private EpochWork finish(List<StageResult> results, ModelSnapshot model, int epoch, int steps, int attempt,
                             long t0) {
        Optional<Evaluation> evaluation = BarrierStages.evaluation(results.stream().map(StageResult::evaluation)
                .toList(), results.stream().mapToLong(StageResult::evaluationNanos).max().orElse(0));
        // The stage's time without the evaluation at its end, which the epoch's figures report apart.
        double totalMs = (System.nanoTime() - t0) / 1e6 - evaluation.map(Evaluation::seconds).orElse(0.0) * 1e3;
        checkReplicasAgree(results, epoch);
        long examples = results.stream().mapToLong(StageResult::examples).sum();
        double lossSum = results.stream().mapToDouble(StageResult::lossSum).sum();
        Trainer.requireFiniteLoss(lossSum / examples, "epoch " + (epoch + 1), plan);
        int workers = results.size();
        StepLog[] logs = results.stream().map(StageResult::log).toArray(StepLog[]::new);
        for (int s = 0; s < steps; s++) {
            sink.accept(StepLog.merge(epoch + 1, s, model.params().length, logs));
        }
        long bytes = Stream.of(logs).mapToLong(StepLog::bytesSent).sum();
        long entries = Stream.of(logs).mapToLong(StepLog::entriesSent).sum();
        long paramsPerStep = (long) model.params().length * steps * workers;
        MemoryUse memory = results.stream().map(StageResult::memory).reduce(MemoryUse.none(), MemoryUse::max);
        // The worker that computed longest sets the pace, and the stage's times are its own: they add up to at
        // most the stage's time, where each part's maximum over workers would count a wait for it twice.
        StepLog pace = Stream.of(logs).max(Comparator.comparingLong(l -> l.computeNanos() + l.applyNanos()))
                .orElseThrow();
        sink.accept(new Metrics.Stage(epoch + 1, attempt, steps, workers, examples, lossSum / examples,
                pace.computeNanos() / 1e6, pace.encodeNanos() / 1e6, pace.exchangeNanos() / 1e6,
                pace.applyNanos() / 1e6, totalMs,
                bytes, (double) bytes / steps / workers, (double) entries / paramsPerStep,
                Stream.of(logs).mapToDouble(StepLog::thresholdSum).sum() / steps / workers));
        List<float[]> unsent = results.stream().map(StageResult::residual).toList();
        ModelSnapshot next = SnapshotCodec.decode(results.get(0).model());
        Trainer.requireFinite(next, "epoch " + (epoch + 1));
        return new EpochWork(next, examples, lossSum, memory, new SyncState.Sharing(unsent), evaluation);
    }

    private static void checkReplicasAgree(List<StageResult> results, int epoch) {
        StageResult first = results.get(0);
        for (StageResult r : results) {
            List<Integer> a = first.stepHashes();
            List<Integer> b = r.stepHashes();
            for (int s = 0; s < Math.min(a.size(), b.size()); s++) {
                if (!a.get(s).equals(b.get(s))) {
                    throw new BarrierStages.ReplicaMismatchException("gradient-sharing replicas diverged: epoch "
                            + (epoch + 1) + ", step " + (s + 1) + ": worker "
                            + r.rank() + "'s parameters differ from worker 0's");
                }
            }
            if (r.finalHash() != first.finalHash()) {
                throw new BarrierStages.ReplicaMismatchException("gradient-sharing replicas diverged: epoch "
                        + (epoch + 1) + ": worker " + r.rank()
                        + " ended with parameters different from worker 0's");
            }
        }
    }
}
