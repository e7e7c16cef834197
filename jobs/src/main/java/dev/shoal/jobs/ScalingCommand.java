package dev.shoal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shoal.driver.bench.ScalingModel;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.CheckpointStore;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal scaling RUN...}: the cost model fitted to runs of one job, and what it predicts on a network. */
@Command(name = "scaling", mixinStandardHelpOptions = true,
        description = {"Fit Shoal's cost model to runs of one job with different numbers of workers on this machine "
                + "(scripts/local-cluster; averaging on the workers, or gradient sharing) and predict examples/s "
                + "and scaling efficiency on more executors, one worker each on machines of their own.",
                "It fits the runs of at most as many workers as the machine has cores and checks the model on every "
                        + "run, the others included (their workers share cores: compute takes n / cores as long).",
                "The model and its assumptions: README, \"Scaling on paper\"."})
final class ScalingCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "RUN", description = "Run directories of one job, one per worker count.")
    List<Path> runs;

    @Option(names = "--executors", split = ",", defaultValue = "1,2,4,8,16,64",
            description = "Executor counts to predict (default: ${DEFAULT-VALUE}).")
    List<Integer> executors;

    @Option(names = "--average-every", split = ",", description = "Averaging: steps between averages to predict "
            + "(default: the runs' own).")
    List<Integer> averageEvery = new ArrayList<>();

    @Option(names = "--gbit", defaultValue = "10", description = "Network bandwidth per executor, Gbit/s (default: "
            + "${DEFAULT-VALUE}).")
    double gbit;

    @Option(names = "--latency-us", defaultValue = "50", description = "Latency of a message, microseconds "
            + "(default: ${DEFAULT-VALUE}).")
    double latencyMicros;

    @Option(names = "--examples", defaultValue = "0", description = "Examples each executor holds, which sets "
            + "the rounds (steps) of a stage, an epoch (default: as many as the worker of the run with the fewest).")
    long examplesPerExecutor;

    @Option(names = "--cores", defaultValue = "0", description = "Cores of the machine the runs were measured on, "
            + "for the check (default: this machine's).")
    int cores;

    @Override
    public Integer call() {
        List<Run> measured = runs.stream().map(ScalingCommand::read)
                .sorted(Comparator.comparingInt(r -> r.point().workers())).toList();
        int machineCores = cores > 0 ? cores : Runtime.getRuntime().availableProcessors();
        // Runs of more workers than cores wait on each other's share of the cores in every exchange: they check
        // the model, they do not fit it.
        List<Run> fitted = measured.stream().filter(r -> r.point().workers() <= machineCores).toList();
        if (fitted.isEmpty()) {
            fitted = measured;
        }
        TrainingPlan plan = measured.get(0).plan();
        boolean sharing = plan.sync().strategy() == SyncStrategy.GRADIENT_SHARING;
        // Averaging: a peer's result costs its merge, measured on a result of the model's size, beside the
        // runs (whose exchange times on a machine this small are mostly waiting for a share of the cores).
        OptionalDouble perPeer = sharing ? OptionalDouble.empty()
                : OptionalDouble.of(ScalingModel.mergeMsPerPeer(measured.get(0).modelValues()));
        ScalingModel model = ScalingModel.fit(fitted.stream().map(Run::point).toList(), machineCores, perPeer);
        System.out.printf("%s, %s, fitted to %d run(s):%n", plan.name(), sharing ? "gradient sharing"
                : "averaging on the workers", fitted.size());
        System.out.printf("  compute %.4f ms an example; exchange %.1f + %.2f (n - 1) ms a %s; stage launch "
                + "%.0f + %.0f n ms; %,.0f bytes to each peer a %s%n", model.computeMs(), model.exchangeMs().a(),
                model.exchangeMs().b(), sharing ? "step" : "round", model.launchMs().a(), model.launchMs().b(),
                model.bytesPerPeer(), sharing ? "step" : "round");
        printCheck(measured, fitted, model, machineCores);
        ScalingModel.Cluster network = new ScalingModel.Cluster(gbit, latencyMicros, 0);
        if (examplesPerExecutor > 0) {
            model = model.withExchangesPerStage((int) Math.max(1,
                    (examplesPerExecutor + model.examplesPerExchange() - 1) / model.examplesPerExchange()));
        }
        List<Integer> intervals = sharing || averageEvery.isEmpty() ? List.of(model.examplesPerExchange())
                : averageEvery.stream().map(k -> k * plan.training().batchSize()).toList();
        System.out.printf("%nPredicted on %s Gbit/s, %s us a message, one executor a machine, each holding %,d "
                + "examples (stages of %d %s):%n", fmt(gbit), fmt(latencyMicros),
                (long) model.examplesPerExchange() * model.exchangesPerStage(), model.exchangesPerStage(),
                sharing ? "steps" : "rounds");
        System.out.println("| " + (sharing ? "batch a worker" : "average-every") + " | executors | ex/s | "
                + "efficiency |");
        System.out.println("|---|---|---|---|");
        for (int examples : intervals) {
            String label = sharing ? Integer.toString(examples)
                    : Integer.toString(examples / plan.training().batchSize());
            for (int n : executors) {
                System.out.printf("| %s | %d | %,.0f | %.0f%% |%n", label, n,
                        model.examplesPerSecond(n, examples, network), 100 * model.efficiency(n, examples, network));
            }
        }
        return 0;
    }

    /** Each run's measured examples/s against the model's on the machine it ran on. */
    private static void printCheck(List<Run> measured, List<Run> fitted, ScalingModel model, int machineCores) {
        System.out.printf("%nCheck on this machine (%d cores): each run against the model%n", machineCores);
        System.out.println("| workers | fitted to it | measured ex/s | model ex/s | error |");
        System.out.println("|---|---|---|---|---|");
        for (Run r : measured) {
            double predicted = model.withExchangesPerStage(r.point().exchangesPerStage()).examplesPerSecond(
                    r.point().workers(), r.point().examplesPerExchange(),
                    ScalingModel.Cluster.calibrationMachine(machineCores));
            System.out.printf("| %d | %s | %,.0f | %,.0f | %+.0f%% |%n", r.point().workers(),
                    fitted.contains(r) ? "yes" : "no", r.examplesPerSecond(), predicted,
                    100 * (predicted / r.examplesPerSecond() - 1));
        }
    }

    /**
     * A run: its plan, the model's input, its measured examples/s after the first epoch, and its model's
     * parameters and updater-state values (0 for gradient sharing, which does not need them).
     */
    private record Run(TrainingPlan plan, ScalingModel.Measured point, double examplesPerSecond, long modelValues) {
    }

    private static Run read(Path dir) {
        TrainingPlan plan = ReportCommand.planOfRun(dir);
        List<JsonNode> records;
        try {
            records = RunDirectory.readMetrics(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve(RunDirectory.METRICS), e);
        }
        boolean sharing = plan.sync().strategy() == SyncStrategy.GRADIENT_SHARING;
        long values = sharing ? 0 : modelValues(plan, dir);
        ScalingModel.Measured point = sharing ? ScalingModel.Measured.sharing(records)
                : ScalingModel.Measured.averaging(records, values);
        double[] speeds = records.stream().filter(r -> "epoch".equals(r.path("type").asText())
                        && r.get("epoch").asInt() > 1).mapToDouble(r -> r.get("examplesPerSecond").asDouble())
                .sorted().toArray();
        if (speeds.length == 0) {
            throw new ConfigException("RUN", dir, "has fewer than two epochs; the model needs an epoch after the "
                    + "first (the JVMs' warm-up)");
        }
        return new Run(plan, point, speeds[speeds.length / 2], values);
    }

    /** Parameters and updater-state values of the run's model, from its newest checkpoint. */
    private static long modelValues(TrainingPlan plan, Path dir) {
        ModelSnapshot model = CheckpointStore.forRun(plan.checkpoint(), dir).newest(w -> { })
                .orElseThrow(() -> new ConfigException("RUN", dir, "has no checkpoint to read the model's size "
                        + "from")).state().model();
        return (long) model.params().length + model.updaterState().length;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
