package dev.shoal.driver.train;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the workers of a gradient-sharing stage learn each other's addresses: a socket in the driver (which every
 * executor reaches already) that collects one address per rank for a stage and, once all have arrived, sends
 * the whole list to each. It does the job of {@code BarrierTaskContext.allGather}, which in Spark 3.5 waits in
 * one-second sleeps and so cost a full second per stage (a quarter of a Fashion-MNIST epoch here).
 */
final class Rendezvous implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);

    private final ServerSocket server;
    private final Map<String, List<Socket>> waiting = new HashMap<>();
    private final Map<String, String[]> addresses = new HashMap<>();
    private final Thread acceptor;

    /** Listens on an ephemeral port of {@code host}, the driver's address as executors know it. */
    Rendezvous(String host) {
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
        return new Address(server.getInetAddress().getHostAddress(), server.getLocalPort());
    }

    /** Host and port of the rendezvous, shipped to the workers with the stage. */
    record Address(String host, int port) implements Serializable {

        /**
         * Runs on a worker: registers {@code mine} as rank {@code rank} of {@code size} for {@code stage} and
         * returns every rank's address once all have registered.
         */
        List<String> join(String stage, int rank, int size, String mine, Duration timeout) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
                s.setSoTimeout((int) timeout.toMillis());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.writeUTF(stage);
                out.writeInt(rank);
                out.writeInt(size);
                out.writeUTF(mine);
                out.flush();
                DataInputStream in = new DataInputStream(s.getInputStream());
                int n = in.readInt();
                List<String> all = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    all.add(in.readUTF());
                }
                return all;
            } catch (IOException e) {
                throw new UncheckedIOException("worker " + rank + " could not learn its peers' addresses from the"
                        + " driver at " + host + ":" + port + " within " + timeout.toSeconds() + " s: " + e, e);
            }
        }
    }

    private void acceptAll() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                s.setSoTimeout(10_000);
                register(s);
            } catch (SocketException e) {
                return; // closed
            } catch (IOException e) {
                LOG.warn("gradient-sharing rendezvous: a worker's registration failed: {}", e.toString());
            }
        }
    }

    private void register(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        String stage = in.readUTF();
        int rank = in.readInt();
        int size = in.readInt();
        String address = in.readUTF();
        List<Socket> sockets;
        String[] all;
        synchronized (this) {
            all = addresses.computeIfAbsent(stage, k -> new String[size]);
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
                DataOutputStream out = new DataOutputStream(peer.getOutputStream());
                out.writeInt(all.length);
                for (String a : all) {
                    out.writeUTF(a);
                }
                out.flush();
            } catch (IOException e) {
                LOG.warn("gradient-sharing rendezvous: cannot answer a worker of stage {}: {}", stage, e.toString());
            }
        }
    }

    /** Drops what is left of a stage that failed before all its workers registered. */
    synchronized void forget(String stage) {
        addresses.remove(stage);
        List<Socket> sockets = waiting.remove(stage);
        if (sockets != null) {
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException e) {
                    // Closing anyway.
                }
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // Closing anyway.
        }
        synchronized (this) {
            for (String stage : List.copyOf(waiting.keySet())) {
                forget(stage);
            }
        }
    }
}
