package dev.shoal.jobs;

import dev.shoal.driver.bench.BenchSystems;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The PyTorch CPU baseline of {@code shoal bench}: {@code scripts/bench-pytorch.py} run with a Python that can
 * import torch, given the plan's data, model, batch, optimizer and seed as arguments.
 */
final class PyTorchBaseline {
    /** Tried in order; SHOAL_PYTHON comes first when set. */
    private static final List<String> PYTHONS = List.of("python3", "/usr/bin/python3");

    private PyTorchBaseline() {
    }

    /** The script, under the Shoal home folder {@code scripts/shoal} passes in. */
    static Path script() {
        return scriptNamed("bench-pytorch.py");
    }

    /** The kernel bench's script: training steps on random minibatches, timed. */
    static Path kernelScript() {
        return scriptNamed("bench-pytorch-kernel.py");
    }

    private static Path scriptNamed(String name) {
        return Path.of(System.getProperty("shoal.home", "."), "scripts", name);
    }

    /** A Python that imports torch, or null. */
    static String python() {
        List<String> candidates = new ArrayList<>();
        String configured = System.getenv("SHOAL_PYTHON");
        if (configured != null && !configured.isBlank()) {
            candidates.add(configured);
        }
        candidates.addAll(PYTHONS);
        for (String python : candidates) {
            if (importsTorch(python)) {
                return python;
            }
        }
        return null;
    }

    /** The model types the baseline has a PyTorch twin of. */
    private static final Set<ModelType> MODELS = Set.of(ModelType.MLP, ModelType.LENET, ModelType.LSTM_CLASSIFIER,
            ModelType.ATTENTION_CLASSIFIER);

    /**
     * Why the baseline cannot train {@code model} here with {@code python} (as {@link #python()} found it), or null
     * when it can.
     */
    static String unavailableReason(String python, ModelType model) {
        return MODELS.contains(model) ? unavailableReason(python, script())
                : "bench-pytorch.py has no twin of a " + model.configName();
    }

    /** Why {@code script} cannot run here with {@code python}, or null when it can. */
    static String unavailableReason(String python, Path script) {
        if (!Files.isRegularFile(script)) {
            return "no " + script + " (run through scripts/shoal)";
        }
        return python == null ? "no python3 that can import torch (scripts/install-pytorch installs Debian's "
                + "python3-torch; SHOAL_PYTHON names another interpreter)" : null;
    }

    /**
     * Writes the plan's training and test sets as the JVM systems read them (the same examples, the training set
     * placed by the plan's seed, texts as token ids) into {@code dir} as NumPy files: train-x.npy, train-y.npy,
     * test-x.npy, test-y.npy. The baseline trains on these, so no reader of its own can differ from Shoal's.
     */
    static Path writeData(Preflight.Sources sources, Path dir) throws IOException {
        Files.createDirectories(dir);
        long seed = sources.plan().training().seed();
        write(BenchSystems.whole(sources.train(), seed), dir, "train");
        write(BenchSystems.whole(sources.test(), seed), dir, "test");
        return dir;
    }

    private static void write(ExampleBlock block, Path dir, String name) throws IOException {
        Nd4j.writeAsNumpy(Nd4j.create(block.features(), new long[] {block.size(), block.featureSize()}, 'c'),
                dir.resolve(name + "-x.npy").toFile());
        Nd4j.writeAsNumpy(Nd4j.createFromArray(block.labels()), dir.resolve(name + "-y.npy").toFile());
    }

    /**
     * The command that trains the plan of {@code sources} on the data {@link #writeData} wrote to {@code data} with
     * {@code workers} processes of {@code threads} threads each, each taking minibatches of {@code batch}, with
     * the CPU flushing subnormal floats to zero if {@code flushDenormal}.
     */
    static List<String> command(String python, Preflight.Sources sources, Path data, int workers, int threads,
                                int batch, boolean flushDenormal, Path result) {
        TrainingPlan plan = sources.plan();
        OptimizerConfig o = plan.optimizer();
        ModelConfig m = plan.model();
        boolean decays = o.schedule().type() != ScheduleType.NONE;
        List<String> command = new ArrayList<>(List.of(python, script().toString(), "--data", data.toString(),
                "--model", m.type().configName(),
                "--hidden", m.hidden().stream().map(String::valueOf).collect(Collectors.joining(",")),
                "--embedding", Integer.toString(m.embedding()), "--units", Integer.toString(m.units()),
                "--heads", Integer.toString(m.heads()),
                "--vocabulary", Integer.toString(sources.train().inputShape().vocabulary()),
                "--epochs", Integer.toString(plan.training().epochs()),
                "--batch", Integer.toString(batch),
                "--updater", o.updater().name().toLowerCase(Locale.ROOT),
                "--lr", Double.toString(o.learningRate()),
                "--decay", Double.toString(decays ? o.schedule().decay() : 1.0),
                "--decay-every",
                Integer.toString(o.schedule().type() == ScheduleType.STEP ? o.schedule().everyEpochs() : 1),
                "--momentum", Double.toString(o.momentum()),
                "--beta1", Double.toString(o.beta1()), "--beta2", Double.toString(o.beta2()),
                "--rms-decay", Double.toString(o.rmsDecay()), "--epsilon", Double.toString(o.epsilon()),
                "--l2", Double.toString(m.l2()),
                "--seed", Long.toString(plan.training().seed()),
                "--workers", Integer.toString(workers), "--threads", Integer.toString(threads),
                "--result", result.toString()));
        if (flushDenormal) {
            command.add("--flush-denormal");
        }
        return command;
    }

    /** The kernel script answering timing requests on its standard input (see the script). */
    static List<String> kernelServeCommand(String python, int batch) {
        return List.of(python, kernelScript().toString(), "--serve", "--batch", Integer.toString(batch));
    }

    private static boolean importsTorch(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", "import torch").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
