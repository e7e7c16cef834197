package dev.shoal.driver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ResultMerger;
import dev.shoal.kernel.WorkerResult;
import dev.shoal.kernel.WorkerResultCodec;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.ToDoubleFunction;

/**
 * Shoal's data-parallel training on paper: a cost model fitted to runs of one job at a few worker counts on one
 * machine (executors in JVMs of their own, scripts/local-cluster), which predicts examples/s and scaling
 * efficiency on n executors, one worker each, on machines of their own joined by a network.
 *
 * <p>A round of averaging on the workers ({@code k} steps of {@code b} examples each, then every worker sends its
 * result of {@code S} bytes to every other, then merges them all):
 * <pre>
 *   round(n) = k b c + x0 + m (n - 1) + (n - 1) (S / bandwidth + latency)
 * </pre>
 * with {@code c} the compute time of an example, {@code x0} the exchange's own cost in a run (encoding, decoding
 * and averaging, the round's bookkeeping) and {@code m} merging one more peer's result ({@link #mergeMsPerPeer}).
 * A step of gradient sharing ({@code b} examples a worker, then each worker's encoded
 * gradient of {@code M} bytes to every other) in the same way:
 * <pre>
 *   step(n) = b c + y0 + y1 (n - 1) + (n - 1) (M / bandwidth + latency)
 * </pre>
 * Each stage (an epoch) costs {@code l0 + l1 n} to launch and return. Scaling is weak: every executor holds as many
 * examples as the worker of the fitted runs with the fewest workers, so a stage has as many rounds (steps) at every
 * n. On the machine the runs came from, {@code n} workers share its cores: compute takes {@code max(1, n / cores)}
 * times as long.
 *
 * @param computeMs      {@code c}, milliseconds of one worker's compute for one example
 * @param exchangeMs     the exchange's own cost of a round (averaging) or a step (sharing), against n
 * @param launchMs       a stage's launch and return, against n
 * @param bytesPerPeer   {@code S} or {@code M}: what one worker sends each peer every round (step)
 * @param examplesPerExchange a worker's examples between exchanges: {@code k b}, or {@code b} for sharing
 * @param exchangesPerStage   rounds (steps) in a stage
 */
public record ScalingModel(double computeMs, Line exchangeMs, Line launchMs, double bytesPerPeer,
                           int examplesPerExchange, int exchangesPerStage) {

    /** {@code a + b x}. */
    public record Line(double a, double b) {
        public double at(double x) {
            return a + b * x;
        }

        /** The least-squares line through the points; a horizontal one through a single point. */
        public static Line fit(List<double[]> points) {
            int n = points.size();
            double mx = points.stream().mapToDouble(p -> p[0]).average().orElseThrow();
            double my = points.stream().mapToDouble(p -> p[1]).average().orElseThrow();
            double sxx = points.stream().mapToDouble(p -> (p[0] - mx) * (p[0] - mx)).sum();
            double sxy = points.stream().mapToDouble(p -> (p[0] - mx) * (p[1] - my)).sum();
            double slope = n < 2 || sxx == 0 ? 0 : sxy / sxx;
            return new Line(my - slope * mx, slope);
        }
    }

    /** Where the executors run: their network, and the cores they share (0 for a machine each). */
    public record Cluster(double gbitPerSecond, double latencyMicros, int sharedCores) {
        /** The machine the runs were measured on, whose loopback transfers the model takes as free. */
        public static Cluster calibrationMachine(int cores) {
            return new Cluster(Double.POSITIVE_INFINITY, 0, cores);
        }

        double transferMs(double bytes) {
            return bytes * 8 / (gbitPerSecond * 1e9) * 1e3 + latencyMicros / 1e3;
        }
    }

    /**
     * What a run measured, the model's input: medians over its epochs after the first (the first is the JVMs'
     * warm-up). {@code bytesPerPeer} is NaN for a run of one worker (it sends nothing).
     */
    public record Measured(int workers, double computeMsPerExample, double exchangeMs, double launchMs,
                           double bytesPerPeer, int examplesPerExchange, int exchangesPerStage) {

        /**
         * A run of averaging on the workers, from its metrics.jsonl records: {@code modelValues} is the number of
         * parameters and updater-state values, which a worker's result carries as 4-byte floats.
         */
        public static Measured averaging(List<JsonNode> records, long modelValues) {
            List<JsonNode> rounds = after(records, "round");
            int workers = rounds.get(0).get("workers").asInt();
            long perWorker = rounds.get(0).get("examples").asLong() / workers;
            return new Measured(workers,
                    median(rounds, r -> r.get("computeMs").asDouble() / (r.get("examples").asDouble() / workers)),
                    median(rounds, r -> r.get("aggregateMs").asDouble()),
                    median(rounds.stream().filter(r -> r.get("idleMs").asDouble() > 0).toList(),
                            r -> r.get("idleMs").asDouble() + r.get("broadcastMs").asDouble()),
                    workers > 1 ? WorkerResultCodec.workerBytes(modelValues) : Double.NaN,
                    (int) perWorker, rounds.get(0).get("rounds").asInt());
        }

        /** A run of gradient sharing, from its metrics.jsonl records. */
        public static Measured sharing(List<JsonNode> records) {
            List<JsonNode> stages = after(records, "stage");
            JsonNode first = stages.get(0);
            int workers = first.get("workers").asInt();
            int steps = first.get("steps").asInt();
            return new Measured(workers,
                    median(stages, s -> s.get("computeMs").asDouble() / (s.get("examples").asDouble() / workers)),
                    median(stages, s -> (s.get("encodeMs").asDouble() + s.get("exchangeMs").asDouble()
                            + s.get("applyMs").asDouble()) / s.get("steps").asDouble()),
                    median(stages, s -> s.get("totalMs").asDouble() - s.get("computeMs").asDouble()
                            - s.get("encodeMs").asDouble() - s.get("exchangeMs").asDouble()
                            - s.get("applyMs").asDouble()),
                    workers > 1 ? median(stages, s -> s.get("bytesPerStep").asDouble()) / (workers - 1)
                            : Double.NaN,
                    (int) Math.round(first.get("examples").asDouble() / steps / workers), steps);
        }

        /** The records of {@code type} after the first epoch (all of them if the run had one epoch). */
        private static List<JsonNode> after(List<JsonNode> records, String type) {
            List<JsonNode> all = records.stream().filter(r -> type.equals(r.path("type").asText())).toList();
            if (all.isEmpty()) {
                throw new IllegalArgumentException("the run has no '" + type + "' records");
            }
            List<JsonNode> later = all.stream().filter(r -> r.get("epoch").asInt() > 1).toList();
            return later.isEmpty() ? all : later;
        }

        /** The median of {@code value} over {@code records}; 0 for none. */
        private static double median(List<JsonNode> records, ToDoubleFunction<JsonNode> value) {
            return records.isEmpty() ? 0
                    : BenchSummary.median(records.stream().map(value::applyAsDouble).toList());
        }
    }

    /**
     * The model fitted to runs of one job at different worker counts, measured on a machine of {@code cores} cores
     * (a run of more workers than cores computes {@code n / cores} times as slowly). The compute time of an
     * example is the run's with the fewest workers, the others' sharing the machine with each other. Each peer
     * adds {@code perPeerMs} to the exchange when given (measured apart from the runs), else the slope of a line
     * through the runs' exchange times.
     */
    public static ScalingModel fit(List<Measured> runs, int cores, OptionalDouble perPeerMs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no runs to fit");
        }
        // A worker's compute where it had the most of the machine: what a machine of its own gives it.
        Measured fewest = runs.stream().min(Comparator.comparingInt(Measured::workers)).orElseThrow();
        double compute = fewest.computeMsPerExample() / contention(fewest.workers(), cores);
        Line exchange = perPeerMs.isPresent()
                ? new Line(fewest.exchangeMs() - perPeerMs.getAsDouble() * (fewest.workers() - 1),
                        perPeerMs.getAsDouble())
                : Line.fit(runs.stream().map(r -> new double[] {r.workers() - 1, r.exchangeMs()}).toList());
        Line launch = Line.fit(runs.stream().map(r -> new double[] {r.workers(), r.launchMs()}).toList());
        double bytes = runs.stream().mapToDouble(Measured::bytesPerPeer).filter(Double::isFinite).average()
                .orElse(0);
        return new ScalingModel(compute, exchange, launch, bytes, fewest.examplesPerExchange(),
                fewest.exchangesPerStage());
    }

    /**
     * Milliseconds a worker of an averaging stage spends on one more peer's result of {@code modelValues} values
     * ({@link ResultMerger}: checksum, then one more addend for every averaged value), measured here: merging two
     * results against merging one.
     */
    public static double mergeMsPerPeer(long modelValues) {
        float[] params = new float[(int) Math.min(Integer.MAX_VALUE - 16, modelValues)];
        Arrays.fill(params, 0.5f);
        byte[] encoded = WorkerResultCodec.encode(WorkerResult.of(params, new float[0], 1, 1, 0, 0,
                MemoryUse.none()));
        ResultMerger merger = new ResultMerger();
        return Math.max(0, bestMergeMs(merger, encoded, params, 2) - bestMergeMs(merger, encoded, params, 1));
    }

    /**
     * The fastest of 30 merges and averages of {@code results} copies of {@code encoded} (into {@code params}, as
     * a stage's rounds average), in milliseconds.
     */
    private static double bestMergeMs(ResultMerger merger, byte[] encoded, float[] params, int results) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 30; i++) {
            long t0 = System.nanoTime();
            merger.clear();
            for (int r = 0; r < results; r++) {
                merger.add(encoded);
            }
            merger.average(1, 0, params, new float[0]);
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
        }
        return best;
    }

    /** How many times as long compute takes when {@code n} workers share {@code cores} cores (0: a core each). */
    private static double contention(int n, int cores) {
        return cores > 0 ? Math.max(1, (double) n / cores) : 1;
    }

    /** This model with stages of {@code exchanges} rounds (steps), as a run of another size has. */
    public ScalingModel withExchangesPerStage(int exchanges) {
        return new ScalingModel(computeMs, exchangeMs, launchMs, bytesPerPeer, examplesPerExchange, exchanges);
    }

    /** Milliseconds of one round (step) on {@code n} executors, averaging every {@code examples} examples. */
    public double exchangeIntervalMs(int n, int examples, Cluster cluster) {
        double network = n > 1 && Double.isFinite(cluster.gbitPerSecond())
                ? (n - 1) * cluster.transferMs(bytesPerPeer) : 0;
        return examples * computeMs * contention(n, cluster.sharedCores()) + Math.max(0, exchangeMs.at(n - 1))
                + network;
    }

    /** Examples per second of {@code n} executors with {@code examples} examples a worker between exchanges. */
    public double examplesPerSecond(int n, int examples, Cluster cluster) {
        int exchanges = Math.max(1, (int) Math.round((double) exchangesPerStage * examplesPerExchange / examples));
        double stageMs = exchanges * exchangeIntervalMs(n, examples, cluster) + Math.max(0, launchMs.at(n));
        return n * (double) examples * exchanges / stageMs * 1e3;
    }

    /** {@link #examplesPerSecond} on {@code n} executors over n times that of one. */
    public double efficiency(int n, int examples, Cluster cluster) {
        return examplesPerSecond(n, examples, cluster) / (n * examplesPerSecond(1, examples, cluster));
    }
}
