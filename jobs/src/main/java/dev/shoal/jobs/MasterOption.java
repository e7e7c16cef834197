package dev.shoal.jobs;

import java.util.List;
import picocli.CommandLine.Option;

/** {@code --master URL} of the commands that start Spark: short for {@code --set spark.master=URL}. */
final class MasterOption {
    @Option(names = "--master", paramLabel = "URL", description = "Spark master, e.g. spark://127.0.0.1:7077 "
            + "(scripts/local-cluster); short for --set spark.master=URL.")
    String url;

    /** The plan setting it stands for: none when it was not given. */
    List<String> settings() {
        return url == null ? List.of() : List.of("spark.master=" + url);
    }
}
