package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code shoal scaling} on three gradient-sharing runs whose figures a known model made: fitted to the two that fit
 * the machine's two cores, the model reproduces all three, the third (3 workers on 2 cores) out of sample; its
 * predicted efficiency falls with executors.
 */
class ScalingCommandTest {
    private static final Path HOME = Path.of(System.getProperty("shoal.home"));

    @TempDir
    Path dir;

    @Test
    void checksTheModelOnTheRunsAndPredictsEfficiencyFallingWithExecutors() throws Exception {
        List<String> runs = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            runs.add(sharingRun(n).toString());
        }
        List<String> args = new ArrayList<>(List.of("scaling", "--cores", "2", "--executors", "1,8,64"));
        args.addAll(runs);
        String out = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run(args.toArray(String[]::new))));

        Matcher check = Pattern.compile("\\| (\\d) \\| (yes|no) \\| ([\\d,]+) \\| ([\\d,]+) \\| ([+-]\\d+)% \\|")
                .matcher(out);
        int checked = 0;
        while (check.find()) {
            checked++;
            assertEquals("+0", check.group(5).replace("-0", "+0"), "run of " + check.group(1) + " workers: " + out);
            assertEquals(Integer.parseInt(check.group(1)) <= 2 ? "yes" : "no", check.group(2), "fitted to the runs"
                    + " of at most 2 workers, the cores");
        }
        assertEquals(3, checked, out);
        // batch 64 a worker: one executor at 100%, 8 and 64 below, 64 below 8
        Matcher predicted = Pattern.compile("\\| 64 \\| (\\d+) \\| [\\d,]+ \\| (\\d+)% \\|").matcher(out);
        List<Integer> efficiency = new ArrayList<>();
        while (predicted.find()) {
            efficiency.add(Integer.parseInt(predicted.group(2)));
        }
        assertEquals(3, efficiency.size(), out);
        assertEquals(100, efficiency.get(0));
        assertTrue(efficiency.get(1) < 100 && efficiency.get(2) < efficiency.get(1), out);
    }

    /**
     * A run of {@code n} workers, 10 steps an epoch of 64 examples a worker: 0.05 ms an example (1.5 times that
     * with 3 workers on 2 cores), an exchange of 2 + 3 (n - 1) ms a step, stages of 100 + 10 n ms beside the steps,
     * 40,000 bytes to each peer a step.
     */
    private Path sharingRun(int n) throws Exception {
        Path run = Files.createDirectories(dir.resolve("run-" + n));
        String plan = Files.readString(HOME.resolve("conf/fashion-mnist-mlp.yaml"))
                .replace("strategy: averaging", "strategy: gradient-sharing");
        Files.writeString(run.resolve("plan.yaml"), plan);
        int steps = 10;
        double compute = steps * 64 * 0.05 * Math.max(1, n / 2.0);
        double exchange = steps * (2 + 3 * (n - 1));
        double total = compute + exchange + 100 + 10 * n;
        StringBuilder metrics = new StringBuilder();
        for (int epoch = 1; epoch <= 3; epoch++) {
            metrics.append(String.format(java.util.Locale.ROOT, "{\"type\":\"stage\",\"epoch\":%d,\"attempt\":1,"
                    + "\"steps\":%d,\"workers\":%d,\"examples\":%d,\"loss\":0.5,\"computeMs\":%s,\"encodeMs\":0,"
                    + "\"exchangeMs\":%s,\"applyMs\":0,\"totalMs\":%s,\"bytesSent\":0,\"bytesPerStep\":%s,"
                    + "\"sentFraction\":0.01,\"threshold\":0.001}%n", epoch, steps, n, steps * 64 * n, compute,
                    exchange, total, 40_000.0 * (n - 1)));
            metrics.append(String.format(java.util.Locale.ROOT, "{\"type\":\"epoch\",\"epoch\":%d,"
                    + "\"examplesPerSecond\":%s}%n", epoch, steps * 64 * n / total * 1e3));
        }
        Files.writeString(run.resolve("metrics.jsonl"), metrics);
        return run;
    }
}
