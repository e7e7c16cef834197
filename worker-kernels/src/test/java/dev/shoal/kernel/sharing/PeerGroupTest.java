package dev.shoal.kernel.sharing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.testing.Rounding;
import java.io.DataOutputStream;
import java.net.ServerSocket;
import java.net.Socket;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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
                try (PeerGroup g = PeerGroup.connect(rank, addresses, servers.get(rank), timeout, SECRET)) {
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

    /** An averaging stage's results, round after round: the same sizes land in the same arrays, others in new. */
    @Test
    void allGatherOfBytesReusesAPeersArrayForBytesOfItsSize() throws Exception {
        List<String> failures = onWorkers(3, Duration.ofSeconds(10), g -> {
            byte[][] first = g.allGather(new byte[] {(byte) g.rank(), 1, 2}).clone();
            byte[][] second = g.allGather(new byte[] {(byte) g.rank(), 3, 4}).clone();
            byte[][] third = g.allGather(new byte[] {(byte) g.rank(), 5});
            for (int r = 0; r < 3; r++) {
                if (r == g.rank()) {
                    continue;
                }
                if (first[r] != second[r] || second[r] == third[r]) {
                    return "worker " + g.rank() + ": peer " + r + "'s arrays not reused by size";
                }
                if (!Arrays.equals(new byte[] {(byte) r, 3, 4}, second[r])
                        || !Arrays.equals(new byte[] {(byte) r, 5}, third[r])) {
                    return "worker " + g.rank() + ": peer " + r + "'s bytes " + Arrays.toString(second[r]) + ", "
                            + Arrays.toString(third[r]);
                }
            }
            return "";
        });
        assertEquals(List.of("", "", ""), failures);
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
