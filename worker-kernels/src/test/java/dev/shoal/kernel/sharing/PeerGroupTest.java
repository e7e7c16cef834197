package dev.shoal.kernel.sharing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.testing.Rounding;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Workers as threads on loopback, each with its own group, as executors would be. */
class PeerGroupTest {
    private static final byte[] SECRET = Handshake.newSecret();
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** Runs {@code body} on {@code n} connected workers and returns their results by rank. */
    private <T> List<T> onWorkers(int n, Duration timeout, Function<PeerGroup, T> body) throws Exception {
        return onWorkers(n, timeout, Jvms.ONE, body);
    }

    /** Where the workers of a test stand: in one JVM (as they are), or in JVMs of their own. */
    enum Jvms {
        /** One JVM: bytes handed over in memory. */
        ONE,
        /** JVMs of their own on other machines: everything over the sockets. */
        OWN_ON_OTHER_MACHINES,
        /** JVMs of their own on this machine: bytes through shared memory. */
        OWN_ON_THIS_MACHINE
    }

    /** {@link #onWorkers(int, Duration, Function)}, the workers standing where {@code jvms} says. */
    private <T> List<T> onWorkers(int n, Duration timeout, Jvms jvms, Function<PeerGroup, T> body)
            throws Exception {
        List<ServerSocket> servers = new ArrayList<>();
        List<PeerAddress> addresses = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            ServerSocket s = PeerGroup.listen("127.0.0.1");
            servers.add(s);
            addresses.add(PeerGroup.address(s));
        }
        List<Future<T>> futures = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int rank = r;
            futures.add(pool.submit(() -> {
                try (PeerGroup g = jvms == Jvms.ONE
                        ? PeerGroup.connect(rank, addresses, servers.get(rank), timeout, SECRET)
                        : PeerGroup.connect(rank, addresses, servers.get(rank), timeout, SECRET, rank + 1,
                        jvms == Jvms.OWN_ON_THIS_MACHINE)) {
                    return body.apply(g);
                }
            }));
        }
        List<T> results = new ArrayList<>();
        for (Future<T> f : futures) {
            results.add(f.get());
        }
        return results;
    }

    @Test
    void allGatherGivesEveryWorkerEveryMessageByRank() throws Exception {
        List<GradientMessage[]> all = onWorkers(3, Duration.ofSeconds(10),
                g -> g.allGather(GradientMessage.dense(g.rank() + 1, new float[] {g.rank(), -g.rank()})));
        for (GradientMessage[] messages : all) {
            for (int r = 0; r < 3; r++) {
                assertEquals(r + 1, messages[r].examples());
                assertArrayEquals(new float[] {r, -r}, messages[r].dense());
            }
        }
    }

    /**
     * An averaging stage's results, round after round: the same sizes land in the same arrays, others in new;
     * between workers of one JVM in memory (only markers and acknowledgements on the sockets), between JVMs of
     * this machine through shared memory (a larger message in a new region), between machines over the sockets.
     * Each worker writes over its array as soon as a gather returns, as a stage does, and the peers' copies hold
     * what was gathered.
     */
    @ParameterizedTest
    @EnumSource(Jvms.class)
    void allGatherOfBytesReusesAPeersArrayForBytesOfItsSize(Jvms jvms) throws Exception {
        List<String> filesBefore = sharedMemoryFiles();
        List<String> failures = onWorkers(3, Duration.ofSeconds(10), jvms, g -> {
            byte[] mine = {(byte) g.rank(), 1, 2};
            byte[][] first = g.allGather(mine).clone();
            String wrong = misgathered(g.rank(), first, 1, 2);
            mine[1] = 3;
            mine[2] = 4;
            byte[][] second = g.allGather(mine).clone();
            wrong += misgathered(g.rank(), second, 3, 4);
            mine[1] = 9;
            byte[][] third = g.allGather(new byte[] {(byte) g.rank(), 5});
            wrong += misgathered(g.rank(), third, 5);
            byte[][] fourth = g.allGather(new byte[] {(byte) g.rank(), 6, 7, 8, 9});
            wrong += misgathered(g.rank(), fourth, 6, 7, 8, 9);
            for (int r = 0; r < 3; r++) {
                if (r != g.rank() && (first[r] != second[r] || second[r] == third[r])) {
                    wrong += "worker " + g.rank() + ": peer " + r + "'s arrays not reused by size; ";
                }
            }
            // Over sockets every byte (a length word and the bytes to each of two peers); in memory a marker
            // and an acknowledgement to each; through shared memory a marker, the length, the path of a new
            // region (a 2-byte length when none) and an acknowledgement.
            // (Four new regions a worker, the first and the last gathers' to each peer, their paths 20-80 bytes.)
            // A machine without a writable /dev/shm goes over the sockets.
            long sent = g.bytesSent();
            long overSockets = 2 * (4 * Integer.BYTES + 3 + 3 + 2 + 5);
            boolean right = switch (jvms) {
                case ONE -> sent == 2 * 4 * 2 * Integer.BYTES;
                case OWN_ON_OTHER_MACHINES -> sent == overSockets;
                case OWN_ON_THIS_MACHINE -> SharedRegion.available()
                        ? sent - 2 * 4 * (3 * Integer.BYTES + 2) >= 4 * 20
                        && sent - 2 * 4 * (3 * Integer.BYTES + 2) <= 4 * 80
                        : sent == overSockets;
            };
            if (!right) {
                wrong += "worker " + g.rank() + " sent " + g.bytesSent() + " bytes; ";
            }
            return wrong;
        });
        assertEquals(List.of("", "", ""), failures);
        assertEquals(filesBefore, sharedMemoryFiles(), "every region's and probe's name deleted");
    }

    /** Shoal's files in /dev/shm: regions whose names were not deleted, probes left behind. */
    private static List<String> sharedMemoryFiles() throws IOException {
        if (!Files.isDirectory(Path.of("/dev/shm"))) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(Path.of("/dev/shm"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("shoal-")).sorted().toList();
        }
    }

    /** What is wrong with {@code all}, as worker {@code rank} gathered it: each rank r's bytes should be r, rest. */
    private static String misgathered(int rank, byte[][] all, int... rest) {
        String wrong = "";
        for (int r = 0; r < all.length; r++) {
            byte[] expected = new byte[1 + rest.length];
            expected[0] = (byte) r;
            for (int i = 0; i < rest.length; i++) {
                expected[i + 1] = (byte) rest[i];
            }
            if (!Arrays.equals(expected, all[r])) {
                wrong += "worker " + rank + " gathered " + Arrays.toString(all[r]) + " from " + r + "; ";
            }
        }
        return wrong;
    }

    /** A worker of the same JVM that leaves mid-gather fails the others, naming it. */
    @Test
    void aPeerOfTheSameJvmThatLeavesFailsTheOthersNamingIt() throws Exception {
        List<String> outcomes = onWorkers(2, Duration.ofSeconds(5), g -> {
            if (g.rank() == 1) {
                g.close();
                return "left";
            }
            try {
                g.allGather(new byte[1000]);
                return "gathered";
            } catch (PeerException e) {
                return e.getMessage().contains("peer worker 1") ? "failed naming it" : e.getMessage();
            }
        });
        assertEquals(List.of("failed naming it", "left"), outcomes);
    }

    @Test
    void ringAllReduceSumsAndEveryWorkerHoldsTheSameBits() throws Exception {
        int n = 3;
        int length = 100_003;
        float[][] inputs = new float[n][length];
        Random random = new Random(11);
        for (float[] v : inputs) {
            for (int i = 0; i < length; i++) {
                v[i] = (float) random.nextGaussian();
            }
        }
        List<float[]> results = onWorkers(n, Duration.ofSeconds(10), g -> {
            float[] data = inputs[g.rank()].clone();
            g.ringAllReduce(data);
            // 2(n-1)/n of the data leaves each worker.
            assertEquals(4L * length * 2 * (n - 1) / n, g.bytesSent(), 8.0 * n);
            return data;
        });
        // The ring adds in its own order, in floats: the sum up to rounding.
        float[] sums = new float[length];
        for (int i = 0; i < length; i++) {
            sums[i] = (float) (inputs[0][i] + (double) inputs[1][i] + inputs[2][i]);
        }
        Rounding.assertClose("ring sums", sums, results.get(0));
        assertArrayEquals(results.get(0), results.get(1));
        assertArrayEquals(results.get(0), results.get(2));
    }

    @Test
    void aPeerThatDiesFailsTheOthersNamingIt() throws Exception {
        var failure = assertThrows(ExecutionException.class, () -> onWorkers(2, Duration.ofSeconds(2), g -> {
            if (g.rank() == 1) {
                g.close();
                return null;
            }
            return g.allGather(GradientMessage.dense(1, new float[] {1}));
        }));
        assertTrue(failure.getCause() instanceof PeerException, String.valueOf(failure.getCause()));
        assertTrue(failure.getCause().getMessage().startsWith("worker 0 lost peer worker 1 at "),
                failure.getCause().getMessage());
    }

    @Test
    void aPeerThatStallsFailsTheOthersAfterTheTimeout() throws Exception {
        long start = System.nanoTime();
        var failure = assertThrows(ExecutionException.class, () -> onWorkers(2, Duration.ofMillis(500), g -> {
            if (g.rank() == 1) {
                try {
                    Thread.sleep(3_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }
            return g.allGather(GradientMessage.dense(1, new float[] {1}));
        }));
        assertTrue(failure.getCause().getMessage().contains("peer worker 1"), failure.getCause().getMessage());
        assertTrue(failure.getCause().getMessage().contains("timed out"), failure.getCause().getMessage());
        assertTrue(System.nanoTime() - start < 2_900_000_000L, "failed at the timeout, not when the peer woke");
    }

    @Test
    void strangersAtAWorkersPortAreRefusedAndTheGroupStillForms() throws Exception {
        ServerSocket s0 = PeerGroup.listen("127.0.0.1");
        ServerSocket s1 = PeerGroup.listen("127.0.0.1");
        List<PeerAddress> addresses = List.of(PeerGroup.address(s0), PeerGroup.address(s1));
        // Queued at worker 0's port before its real peer: one says nothing, one answers with made-up bytes.
        try (Socket silent = new Socket("127.0.0.1", s0.getLocalPort());
             Socket liar = new Socket("127.0.0.1", s0.getLocalPort())) {
            DataOutputStream out = new DataOutputStream(liar.getOutputStream());
            out.write(new byte[16 + 32]); // a nonce and a "proof"
            out.flush();
            List<Future<GradientMessage[]>> workers = new ArrayList<>();
            for (int rank = 0; rank < 2; rank++) {
                int r = rank;
                ServerSocket server = rank == 0 ? s0 : s1;
                workers.add(pool.submit(() -> {
                    try (PeerGroup g = PeerGroup.connect(r, addresses, server, Duration.ofSeconds(20), SECRET)) {
                        return g.allGather(GradientMessage.dense(r + 1, new float[] {r}));
                    }
                }));
            }
            for (Future<GradientMessage[]> w : workers) {
                GradientMessage[] all = w.get();
                assertArrayEquals(new float[] {1}, all[1].dense(), "worker 1's message, not a stranger's");
                assertEquals(2, all[1].examples());
            }
            assertEquals(16, liar.getInputStream().readAllBytes().length,
                    "the liar got a nonce, no proof, and a closed connection");
        }
    }

    @Test
    void aWorkerOfAnotherRunIsRefusedOnBothSides() throws Exception {
        ServerSocket s0 = PeerGroup.listen("127.0.0.1");
        ServerSocket s1 = PeerGroup.listen("127.0.0.1");
        List<PeerAddress> addresses = List.of(PeerGroup.address(s0), PeerGroup.address(s1));
        Future<PeerGroup> lower = pool.submit(() -> PeerGroup.connect(0, addresses, s0, Duration.ofSeconds(3),
                SECRET));
        var stranger = assertThrows(PeerException.class,
                () -> PeerGroup.connect(1, addresses, s1, Duration.ofSeconds(3), Handshake.newSecret()));
        assertTrue(stranger.getMessage().contains("refused this worker's proof"), stranger.getMessage());
        var waiting = assertThrows(ExecutionException.class, lower::get);
        assertTrue(waiting.getCause().getMessage().contains("a higher-ranked peer did not connect"),
                waiting.getCause().getMessage());
    }
}
