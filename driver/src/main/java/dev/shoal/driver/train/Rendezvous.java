package dev.shoal.driver.train;

import dev.shoal.kernel.sharing.Handshake;
import dev.shoal.kernel.sharing.PeerAddress;
import dev.shoal.kernel.sharing.PeerGroup;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.spark.SparkEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the workers of a gradient-sharing stage learn each other's addresses: a socket in the driver (which every
 * executor reaches already) that collects one address per rank for a stage and, once all have arrived, sends
 * the whole list to each. It does the job of {@code BarrierTaskContext.allGather}, which in Spark 3.5 waits in
 * one-second sleeps and so cost a full second per stage (a quarter of a Fashion-MNIST epoch here).
 *
 * <p>Every connection first passes a {@link Handshake} on the run's secret, in its own thread: a stranger (or a
 * worker of another run) is refused with a log line and never holds up the real workers.
 */
final class Rendezvous implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);

    private final ServerSocket server;
    private final byte[] secret;
    private final Map<String, List<Socket>> waiting = new HashMap<>();
    private final Map<String, PeerAddress[]> addresses = new HashMap<>();
    private final Thread acceptor;
    private final ExecutorService registrations = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "shoal-rendezvous-registration");
        t.setDaemon(true);
        return t;
    });

    /**
     * Listens on an ephemeral port of {@code host}, the driver's address as executors know it, for workers that
     * hold {@code secret}.
     */
    Rendezvous(String host, byte[] secret) {
        this.secret = secret.clone();
        try {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the gradient-sharing rendezvous on " + host + ": "
                    + e.getMessage(), e);
        }
        acceptor = new Thread(this::acceptAll, "shoal-rendezvous");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** What a worker needs to find the rendezvous. */
    Address address() {
        return new Address(new PeerAddress(server.getInetAddress().getHostAddress(), server.getLocalPort()));
    }

    /** Where the rendezvous listens, shipped to the workers with the stage. */
    record Address(PeerAddress at) implements Serializable {

        /**
         * Connects worker {@code rank} of a barrier stage to the stage's other workers, whose addresses it learns
         * here, listening on the host name Spark knows this executor by (so peers on other hosts reach it).
         */
        PeerGroup connectPeers(String stage, int rank, int size, Duration timeout, byte[] secret) {
            String host = SparkEnv.get().blockManager().blockManagerId().host();
            ServerSocket server;
            try {
                server = PeerGroup.listen(host);
            } catch (IOException e) {
                throw new UncheckedIOException("worker " + rank + " cannot listen on " + host + ": "
                        + e.getMessage(), e);
            }
            List<PeerAddress> addresses;
            try {
                addresses = join(stage, rank, size, PeerGroup.address(server), timeout, secret);
            } catch (RuntimeException e) {
                try {
                    server.close();
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
                throw e;
            }
            return PeerGroup.connect(rank, addresses, server, timeout, secret);
        }

        /**
         * Runs on a worker: proves it holds the run's {@code secret}, registers {@code mine} as rank {@code rank}
         * of {@code size} for {@code stage} and returns every rank's address once all have registered.
         */
        List<PeerAddress> join(String stage, int rank, int size, PeerAddress mine, Duration timeout,
                               byte[] secret) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(at.host(), at.port()), (int) timeout.toMillis());
                s.setSoTimeout((int) timeout.toMillis());
                DataOutputStream out = messages(s);
                DataInputStream in = new DataInputStream(s.getInputStream());
                Handshake.asClient(in, out, secret);
                out.writeUTF(stage);
                out.writeInt(rank);
                out.writeInt(size);
                out.writeUTF(mine.host());
                out.writeInt(mine.port());
                out.flush();
                int n = in.readInt();
                List<PeerAddress> all = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    all.add(new PeerAddress(in.readUTF(), in.readInt()));
                }
                return all;
            } catch (IOException e) {
                throw new UncheckedIOException("worker " + rank + " could not learn its peers' addresses from the"
                        + " driver at " + at + " within " + timeout.toSeconds() + " s: " + e, e);
            }
        }
    }

    private void acceptAll() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            registrations.execute(() -> {
                try {
                    s.setSoTimeout(10_000);
                    register(s);
                } catch (Handshake.RefusedException e) {
                    LOG.warn("gradient-sharing rendezvous: refused a connection from {}: {}",
                            s.getRemoteSocketAddress(), e.getMessage());
                    closeQuietly(s);
                } catch (IOException e) {
                    LOG.warn("gradient-sharing rendezvous: a worker's registration failed: {}", e.toString());
                    closeQuietly(s);
                }
            });
        }
    }

    private void register(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        Handshake.asServer(in, messages(s), secret);
        String stage = in.readUTF();
        int rank = in.readInt();
        int size = in.readInt();
        PeerAddress address = new PeerAddress(in.readUTF(), in.readInt());
        List<Socket> sockets;
        PeerAddress[] all;
        synchronized (this) {
            all = addresses.computeIfAbsent(stage, k -> new PeerAddress[size]);
            if (rank < 0 || rank >= all.length) {
                s.close();
                throw new IOException("rank " + rank + " out of range for " + all.length + " workers");
            }
            all[rank] = address;
            sockets = waiting.computeIfAbsent(stage, k -> new ArrayList<>());
            sockets.add(s);
            if (sockets.size() < all.length) {
                return;
            }
            waiting.remove(stage);
            addresses.remove(stage);
        }
        for (Socket peer : sockets) {
            try (peer) {
                DataOutputStream out = messages(peer);
                out.writeInt(all.length);
                for (PeerAddress a : all) {
                    out.writeUTF(a.host());
                    out.writeInt(a.port());
                }
                out.flush();
            } catch (IOException e) {
                LOG.warn("gradient-sharing rendezvous: cannot answer a worker of stage {}: {}", stage, e.toString());
            }
        }
    }

    /**
     * The stream a registration's messages go out on: buffered, and sent when flushed. Unbuffered, Java 17's
     * DataOutputStream writes an int as four one-byte sends; with Nagle's algorithm on, every send after the first
     * waited for the other end's delayed acknowledgement (40 ms on Linux), which twice a stage (joining, then the
     * answer) made up most of a stage's start on the local cluster (50-76 ms).
     */
    private static DataOutputStream messages(Socket s) throws IOException {
        s.setTcpNoDelay(true);
        return new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
    }

    /** Drops what is left of a stage that failed before all its workers registered. */
    synchronized void forget(String stage) {
        addresses.remove(stage);
        List<Socket> sockets = waiting.remove(stage);
        if (sockets != null) {
            sockets.forEach(Rendezvous::closeQuietly);
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // Closing anyway.
        }
    }

    @Override
    public void close() {
        closeQuietly(server);
        registrations.shutdownNow();
        synchronized (this) {
            for (String stage : List.copyOf(waiting.keySet())) {
                forget(stage);
            }
        }
    }
}
