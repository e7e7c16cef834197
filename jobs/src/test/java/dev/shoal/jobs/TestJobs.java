package dev.shoal.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

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

    /**
     * {@code n} reviews in {@code dir}/reviews.json, one JSON array sorted by label, as IMDB's: each has three
     * words of its class's (great, superb... or awful, dull...) among six shared words.
     */
    static Path reviews(Path dir, int n, long seed) throws IOException {
        String[][] opinions = {{"awful", "dull", "worst", "boring", "weak"}, {"great", "superb", "best", "moving",
            "fine"}};
        String[] shared = {"the", "film", "plot", "cast", "and", "was", "a", "story", "scene", "actor"};
        Random random = new Random(seed);
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            int label = i < n / 2 ? 0 : 1;
            List<String> words = new ArrayList<>();
            for (int w = 0; w < 6; w++) {
                words.add(shared[random.nextInt(shared.length)]);
            }
            for (int w = 0; w < 3; w++) {
                words.add(random.nextInt(words.size() + 1), opinions[label][random.nextInt(5)]);
            }
            json.append(i == 0 ? "" : ",").append("{\"t\": \"").append(String.join(" ", words))
                    .append(".<br />\", \"s\": ").append(label).append('}');
        }
        return Files.writeString(dir.resolve("reviews.json"), json.append(']'));
    }
}
