package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A standalone Spark cluster of this checkout's own (scripts/local-cluster: a master and two workers with 1 core
 * and 2 GiB each, on 127.0.0.1 and a free port), in a folder of its own under jobs/target.
 */
final class LocalCluster {
    static final Path HOME = Path.of(System.getProperty("shoal.home"));

    private final Path folder;
    private String master;

    LocalCluster(String name) {
        this.folder = HOME.resolve("jobs/target").resolve(name);
    }

    /** Starts the cluster; fails the test if it does not come up. */
    void start() throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        master = "spark://127.0.0.1:" + port;
        assertEquals(0, run("start", Integer.toString(port)), "scripts/local-cluster start");
    }

    void stop() throws IOException, InterruptedException {
        run("stop", "0");
    }

    String master() {
        return master;
    }

    /** The cluster's folder: logs/, work/ (the executors' work folders) and local/ (their scratch space). */
    Path folder() {
        return folder;
    }

    /** SIGKILLs one executor JVM of this cluster; returns its pid (none if there was none). */
    List<Long> killOneExecutor() {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains("CoarseGrainedExecutorBackend")
                        && c.contains(folder.toString())).orElse(false))
                .findFirst()
                .map(p -> {
                    p.destroyForcibly();
                    return List.of(p.pid());
                }).orElse(List.of());
    }

    private int run(String command, String port) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(HOME.resolve("scripts/local-cluster").toString(), command)
                .inheritIO();
        builder.environment().put("SHOAL_CLUSTER_DIR", folder.toString());
        builder.environment().put("SHOAL_CLUSTER_PORT", port);
        builder.environment().put("SHOAL_CLUSTER_WORKER_MEMORY", "2g");
        Process p = builder.start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "scripts/local-cluster " + command + " hangs");
        return p.exitValue();
    }
}
