package dev.shoal.jobs;

import dev.shoal.driver.plan.DataConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Fetches a public data set on first use by running {@code scripts/fetch-data <name>}, when the job names one
 * in {@code data.fetch} and its files are missing. Only local paths are considered; the launcher tells where
 * the scripts are through the {@code shoal.home} system property.
 */
final class DataFetcher {
    private DataFetcher() {
    }

    static void fetchIfMissing(DataConfig data) {
        List<String> paths = List.of(data.trainImages(), data.trainLabels(), data.testImages(), data.testLabels());
        boolean missing = paths.stream().anyMatch(p -> !p.contains("://") && !Files.exists(Path.of(p)));
        String home = System.getProperty("shoal.home");
        if (data.fetch().isEmpty() || !missing || home == null) {
            return;
        }
        Path script = Path.of(home, "scripts", "fetch-data");
        System.out.println("data for '" + data.fetch() + "' is missing; fetching it with " + script);
        try {
            Process p = new ProcessBuilder(Stream.of(script.toString(), data.fetch()).toList()).inheritIO().start();
            int code = p.waitFor();
            if (code != 0) {
                throw new IllegalStateException(script + " " + data.fetch() + " failed with exit code " + code);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + script + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fetching " + data.fetch(), e);
        }
    }
}
