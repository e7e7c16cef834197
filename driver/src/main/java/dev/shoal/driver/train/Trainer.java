package dev.shoal.driver.train;

import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.Augmentation;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.WorkerResult;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop: epochs, each trained by the plan's sync strategy and then evaluated on the test set.
 *
 * <p>Parameter averaging on Spark: each round is one Spark job: broadcast the current {@link ModelSnapshot},
 * let every worker take {@code sync.average-every} local steps on its own partition, {@code treeAggregate} the
 * {@link WorkerResult}s, and average them into the next snapshot. After each epoch the model is evaluated on
 * the test set, also distributed. Every round and epoch is reported to the metrics sink. Gradient sharing
 * trains each epoch as one barrier stage instead (see {@link GradientSharing}). The state after each epoch (and
 * optionally after some rounds) goes to a checkpoint sink as a {@link TrainingState}, from which {@link #run}
 * continues exactly as if it had not stopped.
 *
 * <p>With one worker averaging every step this is exactly DL4J's own {@code fit} on the same batches; with N
 * workers, plain SGD and batch b it is one process with batch N·b (both pinned by tests).
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    private final JavaSparkContext sc;
    private final TrainingPlan plan;
    private final RoundTask task;
    private final Consumer<Metrics> sink;
    private final GradientSharing sharing;
    /** Examples trained and their summed loss, added by the tasks: Spark UI's stage pages show them live. */
    private final LongAccumulator examplesTrained;
    private final DoubleAccumulator lossSum;

    /** @param input the shape of the training examples, which image augmentation needs */
    public Trainer(JavaSparkContext sc, TrainingPlan plan, String networkJson, InputShape input,
                   Consumer<Metrics> sink) {
        this(sc, plan, networkJson, input, sink, WorkerFault.NONE);
    }

    /** A trainer whose gradient-sharing workers suffer {@code fault} (tests). */
    Trainer(JavaSparkContext sc, TrainingPlan plan, String networkJson, InputShape input, Consumer<Metrics> sink,
            WorkerFault fault) {
        this.sc = sc;
        this.plan = plan;
        this.task = new RoundTask(networkJson, plan.model().type().target(), plan.sync().threadsPerWorker(),
                plan.training().batchSize(), augmentation(plan, input), plan.training().seed());
        this.sink = sink;
        examplesTrained = sc.sc().longAccumulator("shoal examples");
        lossSum = sc.sc().doubleAccumulator("shoal loss sum");
        this.sharing = plan.sync().strategy() == SyncStrategy.GRADIENT_SHARING
                ? new GradientSharing(sc, plan, networkJson, input, sink, fault) : null;
    }

    /** The plan's augmentation of examples of {@code input}. */
    static Augmentation augmentation(TrainingPlan plan, InputShape input) {
        return new Augmentation(plan.training().augment().flip(), plan.training().augment().shift(), input);
    }

    /** Trains a fresh model for the plan's epochs, without checkpoints. */
    public TrainingResult run(ModelSnapshot start, TrainingData train, TrainingData test) {
        return run(TrainingState.start(start), train, test, state -> { });
    }

    /**
     * Trains from {@code start} (a fresh model, or a checkpoint's state) until the plan's last epoch or until
     * early stopping ends the run, handing {@code checkpoints} the state after every epoch and, for averaging,
     * every {@code checkpoint.every-rounds} rounds.
     */
    public TrainingResult run(TrainingState start, TrainingData train, TrainingData test,
                              Consumer<TrainingState> checkpoints) {
        int epochs = plan.training().epochs();
        int batches = (train.largestBlock() + plan.training().batchSize() - 1) / plan.training().batchSize();
        long runStart = System.nanoTime();
        long totalExamples = train.examples() * (long) (epochs - start.epoch()) - start.epochExamples();
        long examplesDone = 0;
        List<Metrics.Epoch> history = new ArrayList<>(start.history());
        EarlyStopping stopping = new EarlyStopping(plan.training().earlyStopping(), start);
        ModelSnapshot model = start.model();
        EvalResult evaluation = EvalResult.empty();
        if (sharing != null) {
            sharing.resumeFrom(start.residuals());
        }
        for (int epoch = start.epoch(); epoch < epochs && !stopping.patienceExhausted(epoch); epoch++) {
            boolean resumed = epoch == start.epoch();
            EpochWork before = new EpochWork(model, resumed ? start.epochExamples() : 0,
                    resumed ? start.epochLossSum() : 0, MemoryUse.none());
            int e = epoch;
            RoundCheckpoint roundCheckpoint = (round, m, examples, lossSum) -> checkpoints.accept(new TrainingState(
                    e, round, m, examples, lossSum, null, history, stopping.best(), stopping.bestEpoch()));
            long epochStart = System.nanoTime();
            if (sharing != null) {
                describeJobs("epoch " + (epoch + 1) + " gradient sharing");
            }
            EpochWork work = sharing != null
                    ? sharing.epoch(train, model.atEpoch(epoch), epoch, batches)
                    : averagingEpoch(train, before, epoch, resumed ? start.round() : 0, batches, roundCheckpoint);
            model = work.model();
            double trainSeconds = seconds(System.nanoTime() - epochStart);
            long trainedNow = work.examples() - before.examples();
            examplesDone += trainedNow;
            long evalStart = System.nanoTime();
            describeJobs("epoch " + (epoch + 1) + " evaluation");
            evaluation = evaluate(model, test);
            double evalSeconds = seconds(System.nanoTime() - evalStart);
            double elapsed = seconds(System.nanoTime() - runStart);
            double eta = elapsed / examplesDone * (totalExamples - examplesDone);
            Metrics.Epoch metrics = new Metrics.Epoch(epoch + 1, epochs, work.examples(),
                    work.lossSum() / work.examples(), evaluation.meanLoss(), evaluation.accuracy(), trainSeconds,
                    evalSeconds, trainedNow / trainSeconds, eta, work.executorMemory(), MemoryUse.now());
            history.add(metrics);
            stopping.record(metrics, model);
            sink.accept(metrics);
            checkpoints.accept(new TrainingState(epoch + 1, 0, model, 0, 0,
                    sharing != null ? sharing.residuals() : null, history, stopping.best(), stopping.bestEpoch()));
        }
        int done = history.size();
        boolean stoppedEarly = done < epochs;
        if (stoppedEarly) {
            LOG.info("early stopping after epoch {}: no improvement of {} since epoch {}", done,
                    plan.training().earlyStopping().metric(), stopping.bestEpoch());
        }
        int resultEpoch = stopping.best() != null ? stopping.bestEpoch() : done;
        ModelSnapshot result = (stopping.best() != null ? stopping.best() : model).atEpoch(resultEpoch);
        return new TrainingResult(result, evaluation, List.copyOf(history), resultEpoch, stoppedEarly);
    }

    /** What one epoch of training did, whatever the strategy. */
    record EpochWork(ModelSnapshot model, long examples, double lossSum, MemoryUse executorMemory) {
    }

    /** Receives the state after an averaging round inside an epoch. */
    @FunctionalInterface
    private interface RoundCheckpoint {
        void save(int roundsDone, ModelSnapshot model, long examples, double lossSum);
    }

    /**
     * Parameter averaging: the epoch's batches in rounds of {@code sync.average-every} local steps, from round
     * {@code firstRound} on, continuing {@code before}'s sums.
     */
    private EpochWork averagingEpoch(TrainingData train, EpochWork before, int epoch, int firstRound, int batches,
                                     RoundCheckpoint checkpoint) {
        int steps = plan.sync().averageEvery();
        int rounds = (batches + steps - 1) / steps;
        int every = plan.checkpoint().everyRounds();
        ModelSnapshot model = before.model().atEpoch(epoch);
        long examples = before.examples();
        double lossSum = before.lossSum();
        MemoryUse memory = MemoryUse.none();
        for (int round = firstRound; round < rounds; round++) {
            RoundOutcome outcome = round(train, model, epoch, round, rounds, steps);
            model = outcome.next;
            examples += outcome.result.examples();
            lossSum += outcome.result.lossSum();
            memory = memory.max(outcome.result.memory());
            if (every > 0 && (round + 1) % every == 0 && round + 1 < rounds) {
                checkpoint.save(round + 1, model, examples, lossSum);
            }
        }
        return new EpochWork(model, examples, lossSum, memory);
    }

    /** Evaluates {@code model} on every partition of {@code data}. */
    public EvalResult evaluate(ModelSnapshot model, TrainingData data) {
        return evaluate(sc, task, model, data);
    }

    /**
     * Evaluates {@code model}, parameters of the network {@code networkJson}, on every partition of {@code data}
     * as training does after each epoch (the plan gives the target and the threads per worker).
     */
    public static EvalResult evaluate(JavaSparkContext sc, TrainingPlan plan, String networkJson, InputShape input,
                                      ModelSnapshot model, TrainingData data) {
        RoundTask task = new RoundTask(networkJson, plan.model().type().target(), plan.sync().threadsPerWorker(),
                plan.training().batchSize(), augmentation(plan, input), plan.training().seed());
        return evaluate(sc, task, model, data);
    }

    private static EvalResult evaluate(JavaSparkContext sc, RoundTask t, ModelSnapshot model, TrainingData data) {
        Broadcast<byte[]> snapshot = sc.broadcast(SnapshotCodec.encode(model));
        try {
            return data.blocks()
                    .mapPartitions(blocks -> t.evaluate(snapshot.value(), blocks))
                    .treeAggregate(EvalResult.empty(), EvalResult::merge, EvalResult::merge);
        } finally {
            snapshot.destroy();
        }
    }

    private record RoundOutcome(ModelSnapshot next, WorkerResult result) {
    }

    private RoundOutcome round(TrainingData train, ModelSnapshot model, int epoch, int round, int rounds, int steps) {
        describeJobs("epoch " + (epoch + 1) + " round " + (round + 1));
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
                    .treeAggregate(WorkerResult.empty(), WorkerResult::merge, WorkerResult::merge);
        } finally {
            snapshot.destroy();
        }
        long t2 = System.nanoTime();
        if (!Double.isFinite(result.lossSum())) {
            throw new TrainingDivergedException("training loss became " + result.meanLoss() + " in epoch "
                    + (epoch + 1) + ", round " + (round + 1) + " (learning rate "
                    + plan.optimizer().learningRate() + "); no model was saved from this state");
        }
        ModelSnapshot next = result.average(model.iteration() + result.maxSteps(), epoch);
        requireFinite(next, "epoch " + (epoch + 1) + ", round " + (round + 1));
        long t3 = System.nanoTime();
        double computeMs = result.maxComputeNanos() / 1e6;
        sink.accept(new Metrics.Round(epoch + 1, round + 1, rounds, result.workers(), result.examples(),
                result.meanLoss(), (t1 - t0) / 1e6, computeMs, (t3 - t2) / 1e6,
                Math.max(0, (t2 - t1) / 1e6 - computeMs), (t3 - t0) / 1e6));
        return new RoundOutcome(next, result);
    }

    /**
     * Names the Spark jobs that follow "shoal [job group] {@code what}" (the job group is the run's id when a
     * run set it), so Spark UI's Jobs page reads as the run's progress.
     */
    private void describeJobs(String what) {
        String group = sc.getLocalProperty("spark.jobGroup.id");
        sc.setJobDescription("shoal " + (group == null ? "" : group + " ") + what);
    }

    /** Stops the run when a model holds NaN or infinity, before anything is saved from it. */
    static void requireFinite(ModelSnapshot model, String where) {
        int bad = model.firstNonFinite();
        if (bad >= 0) {
            boolean param = bad < model.params().length;
            int index = param ? bad : bad - model.params().length;
            float value = param ? model.params()[index] : model.updaterState()[index];
            throw new TrainingDivergedException((param ? "parameter " : "updater state value ") + index
                    + " became " + value + " in " + where + "; no model or checkpoint was saved from this state");
        }
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }
}
