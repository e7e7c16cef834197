package dev.shoal.driver.train;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.Augmentation;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ModelSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop: epochs, each trained by the plan's sync {@link Strategy} and then evaluated on the test set.
 *
 * <p>{@link Averaging} runs each epoch as rounds of local steps and an average; {@link GradientSharing} as one
 * barrier stage whose workers exchange gradients every step; {@link FederatedAveraging} runs one round on a
 * sample of clients per "epoch". After each epoch the model is evaluated on the test set, also distributed.
 * Every round and epoch is reported to the metrics sink. The state after each epoch (and, for averaging,
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
    private final Strategy strategy;

    /** @param input the shape of the training examples, which image augmentation needs */
    public Trainer(JavaSparkContext sc, TrainingPlan plan, String networkJson, InputShape input,
                   Consumer<Metrics> sink) {
        this(sc, plan, networkJson, input, sink, WorkerFault.NONE);
    }

    /** A trainer whose workers suffer {@code fault} (tests). */
    Trainer(JavaSparkContext sc, TrainingPlan plan, String networkJson, InputShape input, Consumer<Metrics> sink,
            WorkerFault fault) {
        this.sc = sc;
        this.plan = plan;
        this.task = roundTask(plan, networkJson, input);
        this.sink = sink;
        this.strategy = switch (plan.sync().strategy()) {
            case AVERAGING -> new Averaging(sc, plan, task, sink);
            case GRADIENT_SHARING -> new GradientSharing(sc, plan, networkJson, input, sink, fault);
            case FEDERATED -> new FederatedAveraging(sc, plan, task, sink, fault);
        };
    }

    /** What the executors need of the plan to train and evaluate the network {@code networkJson}. */
    private static RoundTask roundTask(TrainingPlan plan, String networkJson, InputShape input) {
        return new RoundTask(networkJson, plan.model().type().target(), plan.sync().threadsPerWorker(),
                plan.training().batchSize(), augmentation(plan, input), plan.training().seed(), plan.kernel());
    }

    /** The plan's augmentation of examples of {@code input}. */
    static Augmentation augmentation(TrainingPlan plan, InputShape input) {
        return new Augmentation(plan.training().augment().flip(), plan.training().augment().shift(), input);
    }

    /** The state of a fresh run from {@code model}: nothing trained yet. */
    public TrainingState fresh(ModelSnapshot model) {
        return TrainingState.start(model, strategy.start());
    }

    /** Trains a fresh model for the plan's epochs, without checkpoints. */
    public TrainingResult run(ModelSnapshot start, TrainingData train, TrainingData test) {
        return run(fresh(start), train, test, state -> { });
    }

    /**
     * Trains from {@code start} (a fresh model, or a checkpoint's state) until the plan's last epoch or until
     * early stopping ends the run, handing {@code checkpoints} the state after every epoch and, for averaging,
     * every {@code checkpoint.every-rounds} rounds.
     */
    public TrainingResult run(TrainingState start, TrainingData train, TrainingData test,
                              Consumer<TrainingState> checkpoints) {
        try {
            return loop(start, train, test, checkpoints);
        } finally {
            strategy.close();
        }
    }

    private TrainingResult loop(TrainingState start, TrainingData train, TrainingData test,
                                Consumer<TrainingState> checkpoints) {
        int epochs = strategy.epochs();
        long runStart = System.nanoTime();
        long totalExamples = strategy.examplesPerEpoch(train) * (epochs - start.epoch())
                - start.sync().epochExamples();
        long examplesDone = 0;
        List<Metrics.Epoch> history = new ArrayList<>(start.history());
        EarlyStopping stopping = new EarlyStopping(plan.training().earlyStopping(), start);
        ModelSnapshot model = start.model();
        SyncState state = start.sync();
        EvalResult evaluation = EvalResult.empty();
        for (int epoch = start.epoch(); epoch < epochs && !stopping.patienceExhausted(epoch); epoch++) {
            int e = epoch;
            Consumer<Strategy.EpochWork> midEpoch = w -> checkpoints.accept(new TrainingState(e, w.model(),
                    w.state(), history, stopping.best(), stopping.bestEpoch()));
            long epochStart = System.nanoTime();
            long before = state.epochExamples();
            Strategy.EpochWork work = strategy.epoch(train, test, model, epoch, state, midEpoch);
            model = work.model();
            state = work.state();
            double trainSeconds = seconds(System.nanoTime() - epochStart);
            long trainedNow = work.examples() - before;
            examplesDone += trainedNow;
            double evalSeconds;
            if (work.evaluation().isPresent()) { // evaluated where the epoch's training ended
                evaluation = work.evaluation().get().result();
                evalSeconds = work.evaluation().get().seconds();
                trainSeconds -= evalSeconds;
            } else {
                long evalStart = System.nanoTime();
                describeJobs(sc, "epoch " + (epoch + 1) + " evaluation");
                evaluation = evaluate(model, test);
                evalSeconds = seconds(System.nanoTime() - evalStart);
            }
            double elapsed = seconds(System.nanoTime() - runStart);
            double eta = elapsed / examplesDone * (totalExamples - examplesDone);
            Metrics.Epoch metrics = new Metrics.Epoch(epoch + 1, epochs, work.examples(),
                    work.lossSum() / work.examples(), evaluation.meanLoss(), evaluation.accuracy(), trainSeconds,
                    evalSeconds, trainedNow / trainSeconds, eta, work.executorMemory(), MemoryUse.now());
            history.add(metrics);
            stopping.record(metrics, model);
            sink.accept(metrics);
            checkpoints.accept(new TrainingState(epoch + 1, model, state, history, stopping.best(),
                    stopping.bestEpoch()));
        }
        int done = history.size();
        boolean stoppedEarly = done < epochs;
        if (stoppedEarly) {
            LOG.info("early stopping after epoch {}: no improvement of {} since epoch {}", done,
                    plan.training().earlyStopping().metric(), stopping.bestEpoch());
        }
        int resultEpoch = stopping.best().isPresent() ? stopping.bestEpoch() : done;
        ModelSnapshot result = stopping.best().orElse(model).atEpoch(resultEpoch);
        return new TrainingResult(result, evaluation, List.copyOf(history), resultEpoch, stoppedEarly);
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
        return evaluate(sc, roundTask(plan, networkJson, input), model, data);
    }

    private static EvalResult evaluate(JavaSparkContext sc, RoundTask t, ModelSnapshot model, TrainingData data) {
        ModelBroadcast snapshot = ModelBroadcast.of(sc, model);
        try {
            return data.blocks()
                    .mapPartitions(blocks -> t.evaluate(snapshot, blocks))
                    .treeAggregate(EvalResult.empty(), EvalResult::merge, EvalResult::merge);
        } finally {
            snapshot.destroy();
        }
    }

    /**
     * Names the Spark jobs that follow "shoal [job group] {@code what}" (the job group is the run's id when a
     * run set it), so Spark UI's Jobs page reads as the run's progress.
     */
    static void describeJobs(JavaSparkContext sc, String what) {
        String group = sc.getLocalProperty("spark.jobGroup.id");
        sc.setJobDescription("shoal " + (group == null ? "" : group + " ") + what);
    }

    /** Stops the run when a training loss is NaN or infinite, before anything is saved from it. */
    static void requireFiniteLoss(double meanLoss, String where, TrainingPlan plan) {
        if (!Double.isFinite(meanLoss)) {
            throw new TrainingDivergedException("training loss became " + meanLoss + " in " + where
                    + " (learning rate " + plan.optimizer().learningRate() + "); no model was saved from this state");
        }
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
