package dev.shoal.driver.train;

import dev.shoal.driver.plan.AverageOn;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.WorkerResult;
import dev.shoal.kernel.sharing.Handshake;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * Parameter averaging on Spark: every worker takes {@code sync.average-every} local steps on its own partition,
 * the {@link WorkerResult}s are summed in partition order and averaged into the next snapshot. With
 * {@code sync.average-on: driver} each round is one Spark job: the model goes out as a broadcast, the results come
 * back to the driver. With {@code workers}, the workers exchange their results with each other and average them
 * as the driver would, to the same bits ({@link AveragingStage}); the driver asks for the rounds up to the next
 * checkpoint at a time and only their last model comes back. The workers run as one barrier stage for the whole
 * run ({@link WorkerSession}), or, where the test data cannot go into it, one stage per request. A checkpoint may
 * be taken every {@code checkpoint.every-rounds} rounds; its {@link SyncState.Averaging} is the position inside
 * the epoch.
 */
final class Averaging implements Strategy {
    private final JavaSparkContext sc;
    private final TrainingPlan plan;
    private final RoundTask task;
    private final Consumer<Metrics> sink;
    /** Examples trained and their summed loss, added by the tasks: Spark UI's stage pages show them live. */
    private final LongAccumulator examplesTrained;
    private final DoubleAccumulator lossSum;
    /** The workers' part when they average among themselves; null when the driver averages. */
    private final AveragingStage stageTask;
    private final String driverHost;
    /** The workers' session, when they average in one. */
    private final SessionKeeper sessions;

    Averaging(JavaSparkContext sc, TrainingPlan plan, RoundTask task, Consumer<Metrics> sink) {
        this.sc = sc;
        this.plan = plan;
        this.task = task;
        this.sink = sink;
        examplesTrained = sc.sc().longAccumulator("shoal examples");
        lossSum = sc.sc().doubleAccumulator("shoal loss sum");
        if (onWorkers(sc, plan)) {
            stageTask = new AveragingStage(task, Handshake.newSecret(), plan.sync().sharing().peerTimeoutSeconds());
            driverHost = BarrierStages.driverHost(sc);
            sessions = new SessionKeeper(sc, "averaging", driverHost, stageTask.secret());
        } else {
            stageTask = null;
            driverHost = null;
            sessions = null;
        }
    }

    /** Whether the workers average: asked for (and possible), or left to Shoal and Spark can run them all at once. */
    static boolean onWorkers(JavaSparkContext sc, TrainingPlan plan) {
        AverageOn on = plan.sync().averageOn();
        if (on == AverageOn.WORKERS) {
            BarrierStages.requireStaticAllocation(sc.getConf(), "sync.average-on", "workers", "average on the driver");
            return true;
        }
        return on == AverageOn.AUTO && !BarrierStages.dynamicAllocation(sc.getConf())
                && sc.defaultParallelism() >= plan.sync().workers();
    }

    @Override
    public SyncState start() {
        return SyncState.Averaging.EPOCH_START;
    }

    @Override
    public int epochs() {
        return plan.training().epochs();
    }

    /** The epoch's batches in rounds of {@code sync.average-every} local steps, from the state's round on. */
    @Override
    public EpochWork epoch(TrainingData train, TrainingData test, ModelSnapshot start, int epoch, SyncState state,
                           Consumer<EpochWork> midEpoch) {
        SyncState.Averaging position = (SyncState.Averaging) state;
        int batches = train.batchesPerEpoch(plan.training().batchSize());
        int steps = plan.sync().averageEvery();
        int rounds = (batches + steps - 1) / steps;
        int every = plan.checkpoint().everyRounds();
        ModelSnapshot model = start.atEpoch(epoch);
        long examples = position.epochExamples();
        double losses = position.epochLossSum();
        MemoryUse memory = MemoryUse.none();
        Optional<Evaluation> evaluation = Optional.empty();
        for (int round = position.round(); round < rounds; ) {
            // On the workers, the rounds up to the next checkpoint (or the epoch's end) go as one stage.
            int end = stageTask == null ? round + 1
                    : every > 0 ? Math.min(rounds, (round / every + 1) * every) : rounds;
            Rounds done = stageTask == null ? round(train, model, epoch, round, rounds, steps)
                    : stage(train, test, end == rounds, model, epoch, round, end, rounds, steps);
            for (WorkerResult result : done.results()) {
                examples += result.examples();
                losses += result.lossSum();
                memory = memory.max(result.memory());
            }
            model = done.next();
            evaluation = done.evaluation();
            round = end;
            if (every > 0 && round % every == 0 && round < rounds) {
                midEpoch.accept(new EpochWork(model, examples, losses, memory,
                        new SyncState.Averaging(round, examples, losses)));
            }
        }
        return new EpochWork(model, examples, losses, memory, SyncState.Averaging.EPOCH_START, evaluation);
    }

    /** The model after some rounds, each round's figures, and the model's evaluation if the workers made it. */
    private record Rounds(ModelSnapshot next, List<WorkerResult> results, Optional<Evaluation> evaluation) {
    }

    /** One round: every worker's steps from {@code model}, averaged; the round's figures go to the sink. */
    private Rounds round(TrainingData train, ModelSnapshot model, int epoch, int round, int rounds, int steps) {
        Trainer.describeJobs(sc, "epoch " + (epoch + 1) + " round " + (round + 1));
        long t0 = System.nanoTime();
        Broadcast<byte[]> snapshot = sc.broadcast(SnapshotCodec.encode(model));
        long t1 = System.nanoTime();
        WorkerResult result;
        try {
            RoundTask t = task;
            int first = round * steps;
            LongAccumulator examples = examplesTrained;
            DoubleAccumulator losses = lossSum;
            result = train.blocks()
                    .mapPartitionsWithIndex((p, blocks) -> {
                        WorkerResult worker = t.train(p, snapshot.value(), epoch, first, steps, blocks).next();
                        examples.add(worker.examples());
                        losses.add(worker.lossSum());
                        return List.of(worker).iterator();
                    }, true)
                    // in partition order: a sum of doubles depends on its order, and tasks end in any order (the
                    // round's summed loss differed in its last bit between two runs of the same plan)
                    .collect().stream().reduce(WorkerResult.empty(), WorkerResult::merge);
        } finally {
            snapshot.destroy();
        }
        long t2 = System.nanoTime();
        String where = "epoch " + (epoch + 1) + ", round " + (round + 1);
        Trainer.requireFiniteLoss(result.meanLoss(), where, plan);
        ModelSnapshot next = result.average(model.iteration() + result.maxSteps(), epoch);
        Trainer.requireFinite(next, where);
        long t3 = System.nanoTime();
        double computeMs = result.maxComputeNanos() / 1e6;
        sink.accept(new Metrics.Round(epoch + 1, round + 1, rounds, result.workers(), result.examples(),
                result.meanLoss(), (t1 - t0) / 1e6, computeMs, (t3 - t2) / 1e6,
                Math.max(0, (t2 - t1) / 1e6 - computeMs), (t3 - t0) / 1e6));
        return new Rounds(next, List.of(result.withoutModel()), Optional.empty());
    }

    /**
     * Rounds {@code first} to {@code end} (exclusive) on the workers, run again from their start if they fail; with
     * {@code evaluate}, the last model evaluated on {@code test} by the workers. They go to the workers' session
     * ({@link WorkerSession}) when every worker has a test partition to evaluate on (else the Trainer's evaluation
     * job would wait for the session's cores), else as a barrier stage of their own.
     */
    private Rounds stage(TrainingData train, TrainingData test, boolean evaluate, ModelSnapshot model, int epoch,
                         int first, int end, int rounds, int steps) {
        String what = "averaging stage of epoch " + (epoch + 1) + ", rounds " + (first + 1) + "-" + end;
        int attempts = plan.sync().sharing().stageAttempts();
        if (BarrierStages.zippable(train, test)) {
            return sessions.withAttempts(attempts, what,
                    attempt -> sessionRounds(train, test, evaluate, model, epoch, first, end, rounds, steps));
        }
        Trainer.describeJobs(sc, "epoch " + (epoch + 1) + " rounds " + (first + 1) + "-" + end);
        try (Rendezvous rendezvous = new Rendezvous(driverHost, stageTask.secret())) {
            return BarrierStages.withAttempts(attempts, what,
                    attempt -> stageAttempt(rendezvous, train, evaluate ? test : null, model, epoch, first, end,
                            rounds, steps, attempt));
        }
    }

    /** The rounds by the workers' session ({@link SessionKeeper}: started if none runs). */
    private Rounds sessionRounds(TrainingData train, TrainingData test, boolean evaluate, ModelSnapshot model,
                                 int epoch, int first, int end, int rounds, int steps) {
        long t0 = System.nanoTime();
        AveragingStage worker = stageTask;
        LongAccumulator examples = examplesTrained;
        DoubleAccumulator losses = lossSum;
        long[] sent = new long[2]; // when the request was made, and how long encoding the model took
        List<AveragingStage.Rounds> results = sessions.ask(train, test,
                "training from epoch " + (epoch + 1) + " round " + (first + 1),
                (peers, at, name, input) -> worker.serve(peers, at, name, examples, losses, input), model, null,
                held -> {
                    sent[0] = System.nanoTime();
                    byte[] encoded = held.model() ? null : SnapshotCodec.encode(model);
                    sent[1] = encoded == null ? 0 : System.nanoTime() - sent[0];
                    return new AveragingStage.Request(epoch, first, end, steps, evaluate, encoded, held.hash());
                }, AveragingStage.Rounds.class, AveragingStage.Rounds::rank);
        Rounds done = finish(results, epoch, first, rounds, sent[1] / 1e6,
                (System.nanoTime() - sent[0] - sent[1]) / 1e6, (sent[0] - t0) / 1e6);
        sessions.held(done.next(), results.get(0).finalHash(), null);
        return done;
    }

    @Override
    public void close() {
        if (sessions != null) {
            sessions.close();
        }
    }

    private Rounds stageAttempt(Rendezvous rendezvous, TrainingData train, TrainingData test, ModelSnapshot model,
                                int epoch, int first, int end, int rounds, int steps, int attempt) {
        long t0 = System.nanoTime();
        ModelBroadcast snapshot = ModelBroadcast.of(sc, model);
        long t1 = System.nanoTime();
        // Attempts share the rendezvous; the name keeps their registrations apart.
        String name = "epoch-" + (epoch + 1) + "-round-" + (first + 1) + "-attempt-" + attempt;
        AveragingStage task = stageTask;
        Rendezvous.Address at = rendezvous.address();
        LongAccumulator examples = examplesTrained;
        DoubleAccumulator losses = lossSum;
        List<AveragingStage.Rounds> results;
        try {
            results = BarrierStages.run(BarrierStages.blocks(train, test), AveragingStage.Rounds.class,
                    blocks -> task.run(at, name, snapshot, epoch, first, end, steps, examples, losses, blocks))
                    .stream().sorted(Comparator.comparingInt(AveragingStage.Rounds::rank)).toList();
        } finally {
            snapshot.destroy();
            rendezvous.forget(name);
        }
        return finish(results, epoch, first, rounds, (t1 - t0) / 1e6, (System.nanoTime() - t1) / 1e6, 0);
    }

    /**
     * The workers' answers (by rank) for rounds from {@code first}, checked and reported to the sink: the model
     * rank 0 sent, each round's figures, the evaluation. {@code sendMs} went to sending the model out,
     * {@code stageMs} to the rounds from then on, {@code startMs} to starting the workers before that.
     */
    private Rounds finish(List<AveragingStage.Rounds> results, int epoch, int first, int rounds, double sendMs,
                          double stageMs, double startMs) {
        for (AveragingStage.Rounds r : results) {
            if (r.finalHash() != results.get(0).finalHash()) {
                throw new BarrierStages.ReplicaMismatchException("averaging replicas diverged: epoch " + (epoch + 1)
                        + ": worker " + r.rank() + " ended with parameters different from worker 0's");
            }
        }
        List<WorkerResult> figures = results.get(0).figures();
        double[] slowestMs = new double[figures.size()];
        for (int i = 0; i < slowestMs.length; i++) {
            int round = i;
            slowestMs[i] = results.stream().mapToLong(r -> r.roundNanos().get(round)).max().orElse(0) / 1e6;
        }
        Optional<Evaluation> evaluation = BarrierStages.evaluation(
                results.stream().map(AveragingStage.Rounds::evaluation).toList(),
                results.stream().mapToLong(AveragingStage.Rounds::evaluationNanos).max().orElse(0));
        // Launching the stage and bringing the model back: what the workers' rounds (and evaluation) do not
        // account for.
        double launchMs = startMs + Math.max(0, stageMs - Arrays.stream(slowestMs).sum()
                - evaluation.map(Evaluation::seconds).orElse(0.0) * 1e3);
        for (int i = 0; i < figures.size(); i++) {
            WorkerResult r = figures.get(i);
            Trainer.requireFiniteLoss(r.meanLoss(), "epoch " + (epoch + 1) + ", round " + (first + i + 1), plan);
            double roundMs = slowestMs[i];
            double computeMs = r.maxComputeNanos() / 1e6;
            double broadcastMs = i == 0 ? sendMs : 0;
            double idleMs = i == 0 ? launchMs : 0;
            sink.accept(new Metrics.Round(epoch + 1, first + i + 1, rounds, r.workers(), r.examples(),
                    r.meanLoss(), broadcastMs, computeMs, Math.max(0, roundMs - computeMs), idleMs,
                    broadcastMs + roundMs + idleMs));
        }
        ModelSnapshot next = SnapshotCodec.decode(results.get(0).model());
        Trainer.requireFinite(next, "epoch " + (epoch + 1) + ", round " + (first + figures.size()));
        return new Rounds(next, figures, evaluation);
    }
}
