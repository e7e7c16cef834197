package dev.shoal.jobs;

import dev.shoal.driver.plan.DataConfig;
import dev.shoal.kernel.config.UserFacingException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fetches a public data set on first use by running {@code scripts/fetch-data <name>}, when the job names one
 * in {@code data.fetch} and any of its input files (whatever the format) is missing. Only local paths are
 * considered; the launcher tells where the scripts are through the {@code shoal.home} system property.
 */
final class DataFetcher {
    private DataFetcher() {
    }

    static void fetchIfMissing(DataConfig data) {
        String home = System.getProperty("shoal.home");
        if (home != null) {
            fetchIfMissing(data, Path.of(home));
        }
    }

    /** Runs {@code home/scripts/fetch-data} when the data are missing; true if it ran. */
    static boolean fetchIfMissing(DataConfig data, Path home) {
        boolean missing = data.format().readsFiles() && data.inputs().values().stream()
                .anyMatch(p -> !p.contains("://") && !Files.exists(Path.of(p)));
        if (data.fetch().isEmpty() || !missing) {
            return false;
        }
        Path script = home.resolve("scripts").resolve("fetch-data");
        System.out.println("data for '" + data.fetch() + "' is missing; fetching it with " + script);
        try {
            Process p = new ProcessBuilder(List.of(script.toString(), data.fetch())).inheritIO().start();
            int code = p.waitFor();
            if (code != 0) {
                throw new UserFacingException(script + " " + data.fetch() + " failed with exit code " + code);
            }
        } catch (IOException e) {
            throw new UserFacingException("cannot run " + script + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserFacingException("interrupted while fetching " + data.fetch(), e);
        }
        return true;
    }
}
