package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class RendezvousTest {

    @Test
    void everyWorkerLearnsEveryAddressByRankAndStagesStayApart() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Rendezvous rendezvous = new Rendezvous("127.0.0.1")) {
            Rendezvous.Address at = rendezvous.address();
            List<Future<List<String>>> joins = new ArrayList<>();
            for (int rank = 2; rank >= 0; rank--) {
                for (String stage : List.of("a", "b")) {
                    int r = rank;
                    joins.add(pool.submit(() -> at.join(stage, r, 3, stage + "-host:" + r, Duration.ofSeconds(10))));
                }
            }
            for (int i = 0; i < joins.size(); i++) {
                String stage = i % 2 == 0 ? "a" : "b";
                assertEquals(List.of(stage + "-host:0", stage + "-host:1", stage + "-host:2"), joins.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aWorkerWhosePeersNeverComeGivesUpAfterTheTimeout() {
        try (Rendezvous rendezvous = new Rendezvous("127.0.0.1")) {
            long start = System.nanoTime();
            var e = assertThrows(UncheckedIOException.class,
                    () -> rendezvous.address().join("s", 0, 2, "h:1", Duration.ofMillis(500)));
            assertTrue(e.getMessage().startsWith("worker 0 could not learn its peers' addresses from the driver"),
                    e.getMessage());
            assertTrue(System.nanoTime() - start < 5_000_000_000L);
        }
    }
}
