package dev.shoal.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.kernel.bench.KernelBench;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench-kernel}: the worker kernel alone, against DL4J's own training step and the SGEMM ceiling. */
@Command(name = "bench-kernel", mixinStandardHelpOptions = true,
        description = {"Time one training step (forward, backward, Adam) of the MLP, LeNet and LSTM classifiers "
                + "(lstm: 128 tokens, 128 units; lstm-imdb: imdb-lstm.yaml's 200 tokens, 64 units) through Shoal's "
                + "worker kernel and through DL4J's MultiLayerNetwork.fit, on 1 and 2 threads, without Spark, and "
                + "through PyTorch where a python3 with torch is installed (scripts/install-pytorch); report ms/step, "
                + "examples/s, GFLOP/s and the fraction of a 1024^3 SGEMM measured in the same run.",
                "Prints a Markdown table; --out also writes kernel-bench.json."})
final class BenchKernelCommand implements Callable<Integer> {
    @Option(names = "--models", split = ",", defaultValue = "mlp,lenet,lstm", paramLabel = "MODEL",
            description = "Models, comma separated: mlp, lenet, lstm, lstm-imdb (default: ${DEFAULT-VALUE}).")
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
    public Integer call() throws IOException {
        String python = PyTorchBaseline.python();
        String skipped = PyTorchBaseline.unavailableReason(python, PyTorchBaseline.kernelScript());
        KernelBench.Options options = new KernelBench.Options(models, threads, batch, steps, repeats);
        List<KernelBench.Measurement> results;
        if (skipped == null) {
            try (PyTorchPeer pytorch = new PyTorchPeer(python, batch)) {
                results = KernelBench.run(options, List.of(pytorch));
            }
        } else {
            System.out.println("pytorch: skipped, " + skipped);
            results = KernelBench.run(options, List.of());
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

    /**
     * PyTorch's step on the same models, timed on request by the kernel script in a process of its own
     * ({@code --serve}), so that it takes its turns with the JVM's paths.
     */
    private static final class PyTorchPeer implements KernelBench.Peer, AutoCloseable {
        private final ObjectMapper json = new ObjectMapper();
        private final Process process;
        private final BufferedWriter requests;
        private final BufferedReader answers;

        PyTorchPeer(String python, int batch) throws IOException {
            process = new ProcessBuilder(PyTorchBaseline.kernelServeCommand(python, batch))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            requests = process.outputWriter();
            answers = process.inputReader();
        }

        @Override
        public String name() {
            return "pytorch";
        }

        @Override
        public double msPerStep(String model, int threads, int steps) {
            try {
                requests.write(json.writeValueAsString(Map.of("model", model, "threads", threads, "steps", steps)));
                requests.newLine();
                requests.flush();
                String answer = answers.readLine();
                if (answer == null) {
                    throw new IOException(PyTorchBaseline.kernelScript() + " stopped answering (exit code "
                            + process.waitFor() + ")");
                }
                return json.readTree(answer).get("msPerStep").asDouble();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() throws IOException {
            requests.close();
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }
}
