package dev.shoal.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Job files for tests: YAML lines written into a test's folder and trained into its runs/ folder. */
final class TestJobs {
    private TestJobs() {
    }

    /** Runs {@code shoal train} on a job file of these lines; the run goes to {@code dir}/runs/{@code runId}. */
    static int train(Path dir, String runId, String... job) throws IOException {
        Path file = Files.writeString(dir.resolve(runId + ".yaml"), String.join("\n", job) + "\n");
        return Shoal.run("train", file.toString(), "--set", "output.dir=" + dir.resolve("runs"), "--set",
                "output.run-id=" + runId);
    }
}
