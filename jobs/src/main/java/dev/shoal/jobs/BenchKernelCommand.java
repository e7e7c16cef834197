package dev.shoal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.kernel.bench.KernelBench;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench-kernel}: the worker kernel alone, against DL4J's own training step and the SGEMM ceiling. */
@Command(name = "bench-kernel", mixinStandardHelpOptions = true,
        description = {"Time one training step (forward, backward, Adam) of the MLP, LeNet and an LSTM classifier "
                + "(128 tokens) through Shoal's worker kernel and through DL4J's MultiLayerNetwork.fit, on 1 and 2 "
                + "threads, without Spark, and through PyTorch where a python3 with torch is installed "
                + "(scripts/install-pytorch); report ms/step, examples/s, GFLOP/s and the fraction of a 1024^3 "
                + "SGEMM measured in the same run.",
                "Prints a Markdown table; --out also writes kernel-bench.json."})
final class BenchKernelCommand implements Callable<Integer> {
    @Option(names = "--models", split = ",", defaultValue = "mlp,lenet,lstm", paramLabel = "MODEL",
            description = "Models, comma separated: mlp, lenet, lstm (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--threads", split = ",", defaultValue = "1,2", paramLabel = "N",
            description = "ND4J/OpenMP/BLAS thread counts to measure (default: ${DEFAULT-VALUE}).")
    List<Integer> threads;

    @Option(names = "--batch", defaultValue = "128", description = "Examples per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--steps", defaultValue = "30", description = "Steps per timed run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--repeats", defaultValue = "5",
            description = "Timed runs per configuration; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--out", paramLabel = "DIR", description = "Folder to write kernel-bench.json into.")
    Path out;

    @Override
    public Integer call() throws IOException, InterruptedException {
        List<KernelBench.Measurement> results = new ArrayList<>(KernelBench.run(
                new KernelBench.Options(models, threads, batch, steps, repeats)));
        String python = PyTorchBaseline.python();
        String skipped = PyTorchBaseline.unavailableReason(python, PyTorchBaseline.kernelScript());
        if (skipped == null) {
            results.addAll(pytorch(python, results));
        } else {
            System.out.println("pytorch: skipped, " + skipped);
        }
        System.out.print(KernelBench.table(results));
        if (out != null) {
            Files.createDirectories(out);
            Path file = out.resolve("kernel-bench.json");
            Map<String, Object> report = new LinkedHashMap<>(Map.of("batch", batch, "steps", steps,
                    "repeats", repeats, "results", results));
            if (skipped != null) {
                report.put("skipped", Map.of("pytorch", skipped));
            }
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), report);
            System.out.println("wrote " + file);
        }
        return 0;
    }

    /** PyTorch's step on the same models and thread counts, against the ceilings measured for the JVM's runs. */
    private List<KernelBench.Measurement> pytorch(String python, List<KernelBench.Measurement> jvm)
            throws IOException, InterruptedException {
        Process process = new ProcessBuilder(PyTorchBaseline.kernelCommand(python, models, threads, batch, steps,
                repeats)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<KernelBench.Measurement> measured = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (BufferedReader lines = process.inputReader()) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                JsonNode r = json.readTree(line);
                String model = r.get("model").asText();
                int t = r.get("threads").asInt();
                double ms = r.get("msPerStep").asDouble();
                double ceiling = jvm.stream().filter(m -> m.threads() == t).findFirst().orElseThrow()
                        .ceilingGflops();
                measured.add(new KernelBench.Measurement(model, "pytorch", t, ms, batch * 1000 / ms,
                        KernelBench.stepFlops(model, batch) / ms / 1e6, ceiling));
            }
        }
        if (process.waitFor() != 0) {
            throw new IOException(PyTorchBaseline.kernelScript() + " failed with exit code " + process.exitValue());
        }
        return measured;
    }
}
