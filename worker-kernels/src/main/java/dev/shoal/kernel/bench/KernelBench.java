package dev.shoal.kernel.bench;

import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.KernelThreads;
import dev.shoal.kernel.MiniBatch;
import dev.shoal.kernel.NetworkFactory;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The worker kernel alone, without Spark: one training step (forward, backward, updater) per minibatch of the
 * Fashion-MNIST MLP, LeNet and an LSTM classifier, through Shoal's kernel and through DL4J's
 * {@code MultiLayerNetwork.fit}, on 1 and 2 threads, against the single-precision matrix-product ceiling measured
 * in the same JVM.
 *
 * <p>Each figure is the median of {@code repeats} timed runs of {@code steps} steps, after a warm-up run, the
 * Shoal and DL4J paths and any {@link Peer} (PyTorch) taking turns;
 * GFLOP/s counts the dense and convolution products of a step (forward, weight gradient and input gradient:
 * three times the forward products).
 */
public final class KernelBench {
    /** What to measure. */
    public record Options(List<String> models, List<Integer> threads, int batch, int steps, int repeats) {
    }

    /** Another implementation of the same steps, timed in turn with this JVM's paths (PyTorch, in its own process). */
    public interface Peer {
        String name();

        /** Runs {@code steps} training steps of {@code model} on {@code threads} threads; returns ms per step. */
        double msPerStep(String model, int threads, int steps);
    }

    /** One measured configuration. */
    public record Measurement(String model, String path, int threads, double msPerStep, double examplesPerSecond,
                              double gflops, double ceilingGflops) {
        public double ceilingFraction() {
            return gflops / ceilingGflops;
        }
    }

    private static final int IMAGE = 784;
    private static final int CLASSES = 10;

    /**
     * A token classifier's shape: its family, tokens per example, vocabulary, embedding, LSTM units or attention
     * size, attention heads, hidden dense layers, classes.
     */
    record Sequence(ModelType type, int steps, int vocabulary, int embedding, int units, int heads,
                    List<Integer> hidden, int classes) {
    }

    /**
     * The token classifiers: {@code lstm} (128 tokens of a 2,000-word vocabulary, embedding 64, 128 units, 10
     * classes), and conf/imdb-lstm.yaml's and conf/imdb-attention.yaml's shapes, {@code lstm-imdb} (200 tokens of
     * 20,000 words, embedding 64, 64 units, 2 classes) and {@code attention-imdb} (the same tokens, 4-head
     * self-attention of 64, max over time, dense 64). scripts/bench-pytorch-kernel.py has the same table.
     */
    static final Map<String, Sequence> SEQUENCES = Map.of(
            "lstm", new Sequence(ModelType.LSTM_CLASSIFIER, 128, 2000, 64, 128, 1, List.of(), 10),
            "lstm-imdb", new Sequence(ModelType.LSTM_CLASSIFIER, 200, 20000, 64, 64, 1, List.of(), 2),
            "attention-imdb", new Sequence(ModelType.ATTENTION_CLASSIFIER, 200, 20000, 64, 64, 4, List.of(64), 2));

    private KernelBench() {
    }

    public static List<Measurement> run(Options options, List<Peer> peers) {
        List<Measurement> results = new ArrayList<>();
        for (int threads : options.threads()) {
            KernelThreads.apply(threads);
            double ceiling = sgemmGflops(options.repeats());
            for (String model : options.models()) {
                MultiLayerConfiguration conf = network(model);
                List<MiniBatch> batches = batches(model, options.batch(), 4);
                double flops = stepFlops(conf, batches.get(0));
                List<String> names = new ArrayList<>(List.of("shoal", "dl4j"));
                List<TimedPath> paths = new ArrayList<>(List.of(shoalPath(conf, batches), dl4jPath(conf, batches)));
                for (Peer peer : peers) {
                    names.add(peer.name());
                    paths.add(steps -> peer.msPerStep(model, threads, steps));
                }
                double[][] ms = alternating(options, paths);
                for (int p = 0; p < paths.size(); p++) {
                    results.add(measurement(model, names.get(p), threads, options, flops, ceiling, ms[p]));
                }
            }
        }
        return results;
    }

    /**
     * The models: the suites' 784-256-128-10 MLP and LeNet on 28x28 grey images as shoal bench trains them, and
     * the LSTM classifiers of {@link #SEQUENCES} (the last step's output classified); Adam.
     */
    static MultiLayerConfiguration network(String model) {
        OptimizerConfig adam = new OptimizerConfig(UpdaterType.ADAM, 0.001, 0.9, 0.9, 0.999, 0.95, 1e-8,
                new ScheduleConfig(ScheduleType.NONE, 1, 1));
        return switch (model) {
            case "mlp" -> NetworkFactory.build(new ModelConfig(ModelType.MLP, List.of(256, 128), Activation.RELU,
                    WeightInit.RELU, 0, 0, 1e-4, Loss.MCXENT), adam, InputShape.vector(IMAGE), CLASSES, 1);
            case "lenet" -> NetworkFactory.build(new ModelConfig(ModelType.LENET, List.of(500), Activation.RELU,
                    WeightInit.RELU, 0, 0, 1e-4, Loss.MCXENT), adam, new InputShape(28, 28, 1), CLASSES, 1);
            default -> {
                Sequence q = SEQUENCES.get(model);
                if (q == null) {
                    throw new IllegalArgumentException("unknown model '" + model + "'; use mlp, lenet, "
                            + String.join(", ", new java.util.TreeSet<>(SEQUENCES.keySet())));
                }
                yield NetworkFactory.build(new ModelConfig(q.type(), q.hidden(), Activation.RELU, WeightInit.XAVIER,
                        0, 0, 1e-4, Loss.MCXENT, List.of(1), q.embedding(), q.units(), q.heads(), "", 0, 0, "", ""),
                        adam, InputShape.sequence(q.steps(), q.vocabulary()), q.classes(), 1);
            }
        };
    }

    /** Random minibatches for {@code model}: pixels in [0, 1), or token ids. */
    private static List<MiniBatch> batches(String model, int batch, int count) {
        Sequence tokens = SEQUENCES.get(model);
        int features = tokens != null ? tokens.steps() : IMAGE;
        int classes = tokens != null ? tokens.classes() : CLASSES;
        SplittableRandom random = new SplittableRandom(7);
        List<MiniBatch> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            float[] x = new float[batch * features];
            int[] y = new int[batch];
            for (int i = 0; i < x.length; i++) {
                x[i] = tokens != null ? random.nextInt(tokens.vocabulary()) : (float) random.nextDouble();
            }
            for (int i = 0; i < batch; i++) {
                y[i] = random.nextInt(classes);
            }
            out.add(new MiniBatch(x, y, features, classes));
        }
        return out;
    }

    /** Runs {@code steps} training steps; returns the milliseconds per step. */
    private interface TimedPath {
        double msPerStep(int steps);
    }

    private static TimedPath timed(IntConsumer steps) {
        return n -> {
            long t0 = System.nanoTime();
            steps.accept(n);
            return (System.nanoTime() - t0) / 1e6 / n;
        };
    }

    private static TimedPath shoalPath(MultiLayerConfiguration conf, List<MiniBatch> batches) {
        WorkerKernel kernel = new WorkerKernel(conf.toJson());
        var start = kernel.snapshot();
        return timed(steps -> kernel.train(start, cycle(batches, steps).iterator()));
    }

    private static TimedPath dl4jPath(MultiLayerConfiguration conf, List<MiniBatch> batches) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf.clone());
        net.init();
        List<DataSet> data = batches.stream().map(MiniBatch::toDataSet).toList();
        return timed(steps -> {
            for (int s = 0; s < steps; s++) {
                net.fit(data.get(s % data.size()));
            }
        });
    }

    private static List<MiniBatch> cycle(List<MiniBatch> batches, int steps) {
        List<MiniBatch> out = new ArrayList<>(steps);
        for (int s = 0; s < steps; s++) {
            out.add(batches.get(s % batches.size()));
        }
        return out;
    }

    /**
     * Milliseconds per step of each path in each timed run, [path][run]: after a warm-up of each, the paths take
     * turns (A B C A B C ...), so that a slower minute on a shared machine hits all alike.
     */
    private static double[][] alternating(Options o, List<TimedPath> paths) {
        for (TimedPath path : paths) {
            path.msPerStep(Math.max(3, o.steps() / 3)); // warm-up: JIT, workspaces, buffers
        }
        double[][] ms = new double[paths.size()][o.repeats()];
        for (int r = 0; r < o.repeats(); r++) {
            for (int p = 0; p < paths.size(); p++) {
                ms[p][r] = paths.get(p).msPerStep(o.steps());
            }
        }
        return ms;
    }

    private static Measurement measurement(String model, String path, int threads, Options o, double flopsPerStep,
                                           double ceiling, double[] ms) {
        double median = median(ms);
        return new Measurement(model, path, threads, median, o.batch() * 1000 / median,
                flopsPerStep / median / 1e6, ceiling);
    }

    /** Products of a training step on {@code batch}: forward, weight gradient and input gradient. */
    static double stepFlops(String model, int batch) {
        return stepFlops(network(model), batches(model, batch, 1).get(0));
    }

    private static double stepFlops(MultiLayerConfiguration conf, MiniBatch batch) {
        return 3 * forwardFlops(conf, batch.toDataSet().getFeatures());
    }

    /**
     * Products of one forward pass over {@code x}: 2 x in x out per example for dense layers, the same per output
     * position for convolutions, per time step for each of an LSTM's four gates (input and recurrent weights), and
     * for self-attention its projections, scores and weighted sums.
     */
    static double forwardFlops(MultiLayerConfiguration conf, INDArray x) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf.clone());
        net.init();
        List<INDArray> activations = net.feedForward(x, false);
        long batch = x.size(0);
        double flops = 0;
        for (int i = 0; i < conf.getConfs().size(); i++) {
            Layer layer = conf.getConf(i).getLayer();
            if (layer instanceof BaseWrapperLayer wrapper) {
                layer = wrapper.getUnderlying();
            }
            if (layer instanceof ConvolutionLayer conv) {
                long[] out = activations.get(i + 1).shape(); // [batch, channels, height, width]
                flops += 2.0 * batch * out[1] * out[2] * out[3] * conv.getNIn() * conv.getKernelSize()[0]
                        * conv.getKernelSize()[1];
            } else if (layer instanceof SelfAttentionLayer attention) {
                long steps = activations.get(i).size(2);
                long heads = attention.getNHeads();
                long size = attention.getHeadSize() > 0 ? attention.getHeadSize() : attention.getNOut() / heads;
                // three input projections, the scores and the weighted sums of every head, the output projection
                flops += 2.0 * batch * steps * (3 * heads * size * attention.getNIn() + 2 * heads * steps * size
                        + heads * size * attention.getNOut());
            } else if (layer instanceof LSTM lstm) {
                long steps = activations.get(i).size(2); // [batch, features, time]
                flops += 2.0 * batch * steps * 4 * (lstm.getNIn() + lstm.getNOut()) * lstm.getNOut();
            } else if (layer instanceof FeedForwardLayer dense && !(layer instanceof EmbeddingSequenceLayer)) {
                flops += 2.0 * batch * dense.getNIn() * dense.getNOut();
            }
        }
        return flops;
    }

    /**
     * GFLOP/s of a 1024 x 1024 single-precision matrix product on the current thread settings, through
     * {@code Nd4j.gemm} as Shoal's kernels call it. ({@code mmuli} goes through libnd4j's matmul op, which in the
     * oneDNN build ran at 57-80 GFLOP/s where gemm runs at ~105 on one thread.)
     */
    static double sgemmGflops(int repeats) {
        INDArray a = Nd4j.rand(DataType.FLOAT, 1024, 1024);
        INDArray b = Nd4j.rand(DataType.FLOAT, 1024, 1024);
        INDArray c = Nd4j.create(DataType.FLOAT, 1024, 1024);
        for (int i = 0; i < 3; i++) {
            Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
        }
        double[] seconds = new double[Math.max(3, repeats)];
        for (int r = 0; r < seconds.length; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 5; i++) {
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
            }
            seconds[r] = (System.nanoTime() - t0) / 1e9 / 5;
        }
        return 2.0 * 1024 * 1024 * 1024 / median(seconds) / 1e9;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /**
     * A Markdown table of {@code results}, in order of model and thread count, with each path's speed relative to
     * DL4J's and to PyTorch's (when measured) on the same model and threads.
     */
    public static String table(List<Measurement> results) {
        StringBuilder out = new StringBuilder("| model | path | threads | ms/step | examples/s | GFLOP/s | of SGEMM "
                + "ceiling | vs dl4j | vs pytorch |\n|---|---|---|---|---|---|---|---|---|\n");
        List<Measurement> ordered = results.stream().sorted(Comparator.comparingInt(Measurement::threads)
                .thenComparing(m -> results.stream().map(Measurement::model).distinct().toList()
                        .indexOf(m.model()))).toList();
        for (Measurement m : ordered) {
            out.append(String.format("| %s | %s | %d | %.1f | %,.0f | %.1f | %.0f%% of %.1f | %s | %s |%n",
                    m.model(), m.path(), m.threads(), m.msPerStep(), m.examplesPerSecond(), m.gflops(),
                    100 * m.ceilingFraction(), m.ceilingGflops(), speedup(results, m, "dl4j"),
                    speedup(results, m, "pytorch")));
        }
        return out.toString();
    }

    /** How many times faster {@code m} is than {@code path} on its model and threads, or a dash. */
    private static String speedup(List<Measurement> results, Measurement m, String path) {
        return results.stream().filter(o -> o.model().equals(m.model()) && o.threads() == m.threads()
                        && o.path().equals(path)).findFirst()
                .map(o -> String.format("%.2fx", o.msPerStep() / m.msPerStep())).orElse("—");
    }
}
