package dev.shoal.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.kernel.bench.KernelBench;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench-kernel}: the worker kernel alone, against DL4J's own training step and the SGEMM ceiling. */
@Command(name = "bench-kernel", mixinStandardHelpOptions = true,
        description = {"Time one training step (forward, backward, Adam) of the MLP and LeNet through Shoal's worker "
                + "kernel and through DL4J's MultiLayerNetwork.fit, on 1 and 2 threads, without Spark; report "
                + "ms/step, examples/s, GFLOP/s and the fraction of a 1024^3 SGEMM measured in the same run.",
                "Prints a Markdown table; --out also writes kernel-bench.json."})
final class BenchKernelCommand implements Callable<Integer> {
    @Option(names = "--models", split = ",", defaultValue = "mlp,lenet", paramLabel = "MODEL",
            description = "Models, comma separated: mlp, lenet (default: ${DEFAULT-VALUE}).")
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
        List<KernelBench.Measurement> results = KernelBench.run(
                new KernelBench.Options(models, threads, batch, steps, repeats));
        System.out.print(KernelBench.table(results));
        if (out != null) {
            Files.createDirectories(out);
            Path file = out.resolve("kernel-bench.json");
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(),
                    Map.of("batch", batch, "steps", steps, "repeats", repeats, "results", results));
            System.out.println("wrote " + file);
        }
        return 0;
    }
}
