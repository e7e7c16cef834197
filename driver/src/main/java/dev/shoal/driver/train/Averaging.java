package dev.shoal.driver.train;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.WorkerResult;
import java.util.List;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * Parameter averaging on Spark: each round is one Spark job: broadcast the current {@link ModelSnapshot}, let
 * every worker take {@code sync.average-every} local steps on its own partition, sum the {@link WorkerResult}s
 * in partition order, and average them into the next snapshot. A checkpoint may be taken every
 * {@code checkpoint.every-rounds} rounds; its {@link SyncState.Averaging} is the position inside the epoch.
 */
final class Averaging implements Strategy {
    private final JavaSparkContext sc;
    private final TrainingPlan plan;
    private final RoundTask task;
    private final Consumer<Metrics> sink;
    /** Examples trained and their summed loss, added by the tasks: Spark UI's stage pages show them live. */
    private final LongAccumulator examplesTrained;
    private final DoubleAccumulator lossSum;

    Averaging(JavaSparkContext sc, TrainingPlan plan, RoundTask task, Consumer<Metrics> sink) {
        this.sc = sc;
        this.plan = plan;
        this.task = task;
        this.sink = sink;
        examplesTrained = sc.sc().longAccumulator("shoal examples");
        lossSum = sc.sc().doubleAccumulator("shoal loss sum");
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
    public EpochWork epoch(TrainingData train, ModelSnapshot start, int epoch, SyncState state,
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
        for (int round = position.round(); round < rounds; round++) {
            Round done = round(train, model, epoch, round, rounds, steps);
            WorkerResult result = done.result();
            model = done.next();
            examples += result.examples();
            losses += result.lossSum();
            memory = memory.max(result.memory());
            if (every > 0 && (round + 1) % every == 0 && round + 1 < rounds) {
                midEpoch.accept(new EpochWork(model, examples, losses, memory,
                        new SyncState.Averaging(round + 1, examples, losses)));
            }
        }
        return new EpochWork(model, examples, losses, memory, SyncState.Averaging.EPOCH_START);
    }

    private record Round(ModelSnapshot next, WorkerResult result) {
    }

    /** One round: every worker's steps from {@code model}, averaged; the round's figures go to the sink. */
    private Round round(TrainingData train, ModelSnapshot model, int epoch, int round, int rounds,
                               int steps) {
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
        return new Round(next, result);
    }
}
