package dev.shoal.jobs;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

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

    /** Why the baseline cannot run here with {@code python} (as {@link #python()} found it), or null when it can. */
    static String unavailableReason(String python) {
        return unavailableReason(python, script());
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
     * The command that trains {@code plan} with {@code workers} processes of {@code threads} threads each, each
     * taking minibatches of {@code batch}.
     */
    static List<String> command(String python, TrainingPlan plan, int workers, int threads, int batch,
                                Path result) {
        OptimizerConfig o = plan.optimizer();
        boolean decays = o.schedule().type() != ScheduleType.NONE;
        return List.of(python, script().toString(),
                "--train-images", plan.data().trainImages(), "--train-labels", plan.data().trainLabels(),
                "--test-images", plan.data().testImages(), "--test-labels", plan.data().testLabels(),
                "--train-limit", Integer.toString(plan.data().trainLimit()),
                "--model", plan.model().type().name().toLowerCase(Locale.ROOT),
                "--hidden", plan.model().hidden().stream().map(String::valueOf).collect(Collectors.joining(",")),
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
                "--l2", Double.toString(plan.model().l2()),
                "--seed", Long.toString(plan.training().seed()),
                "--workers", Integer.toString(workers), "--threads", Integer.toString(threads),
                "--result", result.toString());
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
