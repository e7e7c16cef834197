package dev.shoal.driver.testing;

import dev.shoal.driver.registry.Registry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Writers that read the champion, register a version each and try to promote it, all at the same moment. */
public final class RegistryRace {
    private RegistryRace() {
    }

    /** Registers a version whose model.zip holds {@code content}. */
    public static int register(Registry registry, String name, String content) throws IOException {
        Path model = Files.createTempFile("model", ".zip");
        Files.writeString(model, content);
        try {
            return registry.register(name, Map.of("model.zip", model), Map.of("content", content));
        } finally {
            Files.delete(model);
        }
    }

    /** Runs the race; returns the versions whose promotion succeeded. */
    public static List<Integer> run(Registry registry, String name, int writers) throws Exception {
        CyclicBarrier together = new CyclicBarrier(writers);
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<Integer>> wins = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                String content = "writer " + w;
                wins.add(pool.submit(() -> {
                    long expected = registry.champion(name).map(Registry.Promotion::sequence).orElse(0L);
                    together.await(60, TimeUnit.SECONDS);
                    int version = register(registry, name, content);
                    together.await(60, TimeUnit.SECONDS);
                    return registry.promote(name, version, expected, content) ? version : 0;
                }));
            }
            List<Integer> winners = new ArrayList<>();
            for (Future<Integer> win : wins) {
                if (win.get() > 0) {
                    winners.add(win.get());
                }
            }
            return winners;
        } finally {
            pool.shutdownNow();
        }
    }
}
