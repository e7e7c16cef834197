package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.sharing.Handshake;
import dev.shoal.kernel.sharing.PeerAddress;
import java.io.DataOutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RendezvousTest {
    private static final byte[] SECRET = Handshake.newSecret();

    @Test
    void everyWorkerLearnsEveryAddressByRankAndStagesStayApart() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Rendezvous rendezvous = new Rendezvous("127.0.0.1", SECRET)) {
            Rendezvous.Address at = rendezvous.address();
            List<Future<List<PeerAddress>>> joins = new ArrayList<>();
            for (int rank = 2; rank >= 0; rank--) {
                for (String stage : List.of("a", "b")) {
                    int r = rank;
                    joins.add(pool.submit(() -> at.join(stage, r, 3, new PeerAddress(stage + "-host", r),
                            Duration.ofSeconds(10), SECRET)));
                }
            }
            for (int i = 0; i < joins.size(); i++) {
                String stage = i % 2 == 0 ? "a" : "b";
                assertEquals(List.of(new PeerAddress(stage + "-host", 0), new PeerAddress(stage + "-host", 1),
                        new PeerAddress(stage + "-host", 2)), joins.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void ipv6LiteralsTravelWhole() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Rendezvous rendezvous = new Rendezvous("127.0.0.1", SECRET)) {
            PeerAddress v6 = new PeerAddress("fe80::1:2ff:fe3:4", 40001);
            Future<List<PeerAddress>> other = pool.submit(() -> rendezvous.address().join("s", 1, 2,
                    new PeerAddress("10.0.0.2", 40002), Duration.ofSeconds(10), SECRET));
            assertEquals(List.of(v6, new PeerAddress("10.0.0.2", 40002)),
                    rendezvous.address().join("s", 0, 2, v6, Duration.ofSeconds(10), SECRET));
            assertEquals("[fe80::1:2ff:fe3:4]:40001", other.get().get(0).toString());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void strangersAndWorkersOfAnotherRunAreRefusedAndTheRealWorkersStillMeet() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Rendezvous rendezvous = new Rendezvous("127.0.0.1", SECRET)) {
            Rendezvous.Address at = rendezvous.address();
            Future<List<PeerAddress>> first = pool.submit(() -> at.join("s", 0, 2, new PeerAddress("h", 1),
                    Duration.ofSeconds(20), SECRET));
            // A silent stranger, one that sends a registration without any proof, and a worker of another run.
            try (Socket silent = new Socket(at.at().host(), at.at().port());
                 Socket blunt = new Socket(at.at().host(), at.at().port())) {
                DataOutputStream out = new DataOutputStream(blunt.getOutputStream());
                out.writeUTF("s");
                out.writeInt(1);
                out.writeInt(2);
                out.writeUTF("evil");
                out.writeInt(6666);
                out.flush();
                var wrong = assertThrows(UncheckedIOException.class, () -> at.join("s", 1, 2,
                        new PeerAddress("evil", 6667), Duration.ofSeconds(5), Handshake.newSecret()));
                assertTrue(wrong.getMessage().contains("refused this worker's proof"), wrong.getMessage());

                List<PeerAddress> second = at.join("s", 1, 2, new PeerAddress("h", 2), Duration.ofSeconds(20),
                        SECRET);
                List<PeerAddress> expected = List.of(new PeerAddress("h", 1), new PeerAddress("h", 2));
                assertEquals(expected, second, "no stranger's address among the peers");
                assertEquals(expected, first.get(20, TimeUnit.SECONDS));
                assertTrue(silent.isConnected(), "the silent stranger held nobody up");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aWorkerWhosePeersNeverComeGivesUpAfterTheTimeout() {
        try (Rendezvous rendezvous = new Rendezvous("127.0.0.1", SECRET)) {
            long start = System.nanoTime();
            var e = assertThrows(UncheckedIOException.class, () -> rendezvous.address().join("s", 0, 2,
                    new PeerAddress("h", 1), Duration.ofMillis(500), SECRET));
            assertTrue(e.getMessage().startsWith("worker 0 could not learn its peers' addresses from the driver"),
                    e.getMessage());
            assertTrue(System.nanoTime() - start < 5_000_000_000L);
        }
    }
}
