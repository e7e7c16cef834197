package dev.shoal.driver.train;

import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.sharing.Handshake;
import dev.shoal.kernel.sharing.PeerAddress;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Averaging on the workers as one Spark barrier stage for the whole run instead of one a stage of rounds: the
 * workers connect to each other and to this session once, then train the rounds the driver asks for, request
 * after request, from the model they hold, and answer with what a stage returned ({@link AveragingStage#serve}).
 *
 * <p>Why: every Spark job costs its scheduling, the task binary's broadcast, the tasks' deserialization and the
 * results' trip back, plus the workers' connections to each other: 40-65 ms an epoch in local mode and 105-186 ms on
 * the local standalone cluster (the executors' JVMs run Spark's task code cold), an eighth of a Fashion-MNIST
 * MLP epoch there. A request and its answers cost a round trip on a socket the driver holds.
 *
 * <p>While a session lives it holds a slot on every worker's executor: the driver runs no other Spark job on the
 * same cores until it {@link #close}s (the epoch's evaluation runs inside it). A worker that fails (an executor
 * lost) fails the whole session: its job is cancelled, its sockets closed, and the caller starts another from the
 * model the failed request started from.
 */
final class WorkerSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerSession.class);
    /** How long accepting a worker's connection may wait before checking that the session's job still runs. */
    private static final int ACCEPT_POLL_MILLIS = 200;
    /** How long a connection may take to prove it belongs to the run. */
    private static final int HANDSHAKE_MILLIS = 10_000;

    private final String name;
    private final ServerSocket server;
    private final Rendezvous rendezvous;
    private final JavaFutureAction<List<Integer>> job;
    private final Socket[] sockets;
    private final DataOutputStream[] requests;
    private final ObjectInputStream[] answers;
    /** The hash of the parameters every worker holds after the last request; its arrays, to know the model. */
    private int heldHash;
    private float[] heldParams;
    private volatile boolean closing;

    /**
     * Starts the session's job on {@code blocks} (one partition a worker) and waits until every worker has
     * connected; fails with the job's error if the job ends first.
     */
    WorkerSession(String name, String driverHost, JavaRDD<BarrierStages.WorkerBlocks> blocks, AveragingStage stage,
                  LongAccumulator examples, DoubleAccumulator losses) {
        this.name = name;
        int workers = blocks.getNumPartitions();
        sockets = new Socket[workers];
        requests = new DataOutputStream[workers];
        answers = new ObjectInputStream[workers];
        rendezvous = new Rendezvous(driverHost, stage.secret());
        try {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getByName(driverHost), 0));
            server.setSoTimeout(ACCEPT_POLL_MILLIS);
        } catch (IOException e) {
            rendezvous.close();
            throw new UncheckedIOException("cannot open the workers' session on " + driverHost + ": " + e, e);
        }
        Rendezvous.Address peers = rendezvous.address();
        Address at = new Address(new PeerAddress(server.getInetAddress().getHostAddress(), server.getLocalPort()));
        job = BarrierStages.submit(blocks, Integer.class,
                input -> stage.serve(peers, at, name, examples, losses, input));
        try {
            acceptWorkers(stage.secret());
        } catch (RuntimeException e) {
            abort();
            throw e;
        }
        // A worker that dies (its executor lost) closes its socket; one that hangs fails the job some other way.
        Thread watcher = new Thread(this::closeWhenJobFails, "shoal-session-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private void acceptWorkers(byte[] secret) {
        int connected = 0;
        while (connected < sockets.length) {
            Socket s;
            try {
                s = server.accept();
            } catch (SocketTimeoutException e) {
                if (job.isDone()) {
                    throw new IllegalStateException("the workers' session ended before every worker connected: "
                            + jobError());
                }
                continue;
            } catch (IOException e) {
                throw new UncheckedIOException("the workers' session stopped accepting connections: " + e, e);
            }
            try {
                s.setSoTimeout(HANDSHAKE_MILLIS);
                s.setTcpNoDelay(true);
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                Handshake.asServer(in, out, secret);
                String session = in.readUTF();
                int rank = in.readInt();
                if (!session.equals(name) || rank < 0 || rank >= sockets.length || sockets[rank] != null) {
                    throw new IOException("unexpected worker " + rank + " of session " + session);
                }
                s.setSoTimeout(0); // a request's rounds take as long as they take
                sockets[rank] = s;
                requests[rank] = out;
                answers[rank] = new ObjectInputStream(in);
                connected++;
            } catch (IOException e) {
                LOG.warn("workers' session {}: refused a connection from {}: {}", name, s.getRemoteSocketAddress(),
                        e.toString());
                closeQuietly(s);
            }
        }
    }

    private void closeWhenJobFails() {
        try {
            job.get();
        } catch (ExecutionException | RuntimeException e) {
            if (!closing) {
                LOG.warn("workers' session {} failed: {}", name, e.toString());
                closeSockets();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the workers hold {@code model}: the model the last request ended with, not sent again. */
    boolean holds(ModelSnapshot model) {
        return model.params() == heldParams;
    }

    /**
     * Every worker's answer, by rank, to training rounds {@code firstRound} to {@code endRound} (exclusive) of
     * {@code epoch} from {@code model} ({@code encoded}, or null when the workers {@link #holds hold} it).
     */
    List<AveragingStage.Rounds> train(byte[] encoded, int epoch, int firstRound, int endRound, int steps,
                                      boolean evaluate) {
        Request request = new Request(epoch, firstRound, endRound, steps, evaluate, encoded, heldHash);
        List<AveragingStage.Rounds> all = new ArrayList<>();
        int rank = 0;
        try {
            for (; rank < requests.length; rank++) {
                request.write(requests[rank]);
            }
            for (rank = 0; rank < answers.length; rank++) {
                all.add((AveragingStage.Rounds) answers[rank].readObject());
            }
        } catch (IOException | ClassNotFoundException | ClassCastException e) {
            // The job's error says why (an executor lost, a worker's exception), once Spark has seen it.
            try {
                job.get(HANDSHAKE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException notYet) {
                // Reported below.
            }
            IllegalStateException failed = new IllegalStateException("worker " + rank + " of the workers' session "
                    + "broke off (" + e + "); the session's job: " + (job.isDone() ? jobError() : "still running"));
            failed.addSuppressed(e);
            throw failed;
        }
        all.sort(Comparator.comparingInt(AveragingStage.Rounds::rank));
        heldHash = all.get(0).finalHash();
        return all;
    }

    /** Records that the workers hold {@code model}, the one the driver decoded from the last answer. */
    void held(ModelSnapshot model) {
        heldParams = model.params();
        if (Arrays.hashCode(heldParams) != heldHash) {
            throw new IllegalStateException("the model rank 0 sent differs from the one it holds");
        }
    }

    private String jobError() {
        try {
            job.get();
            return "its job ended";
        } catch (ExecutionException e) {
            Throwable t = e;
            while (t.getCause() != null && t.getCause() != t) {
                t = t.getCause();
            }
            return t.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Ends the session: asks the workers to stop and waits for its job; cancels the job if they do not. */
    @Override
    public void close() {
        closing = true;
        closeQuietly(server); // a retried task of this job connects nowhere
        for (DataOutputStream out : requests) {
            if (out != null) {
                try {
                    Request.writeEnd(out);
                } catch (IOException e) {
                    // That worker is gone; cancelling the job below ends the others.
                }
            }
        }
        try {
            job.get(HANDSHAKE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // Failed; what failed was reported where it happened.
        } catch (InterruptedException | TimeoutException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            job.cancel(true);
        }
        release();
    }

    /** Ends a failed session at once: cancels its job and closes its sockets, which ends its workers' waits. */
    void abort() {
        closing = true;
        closeQuietly(server);
        job.cancel(true);
        release();
    }

    private void release() {
        closeSockets();
        rendezvous.close();
    }

    private void closeSockets() {
        for (Socket s : sockets) {
            if (s != null) {
                closeQuietly(s);
            }
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // Closing anyway.
        }
    }

    /** Where a worker reaches its session, shipped with the session's task. */
    record Address(PeerAddress at) implements Serializable {

        /** Connects worker {@code rank} to session {@code session}, proving it holds the run's {@code secret}. */
        Link connect(String session, int rank, Duration timeout, byte[] secret) throws IOException {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(at.host(), at.port()), (int) timeout.toMillis());
                s.setSoTimeout((int) timeout.toMillis()); // a session that went away does not hold the task
                s.setTcpNoDelay(true);
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                Handshake.asClient(in, out, secret);
                out.writeUTF(session);
                out.writeInt(rank);
                ObjectOutputStream objects = new ObjectOutputStream(out);
                objects.flush();
                s.setSoTimeout(0); // the driver's next request comes when the driver is ready
                return new Link(s, in, objects);
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }
    }

    /** A worker's end of its session: the driver's requests in, its answers out. */
    static final class Link implements Closeable {
        private final Socket socket;
        private final DataInputStream in;
        private final ObjectOutputStream out;

        private Link(Socket socket, DataInputStream in, ObjectOutputStream out) {
            this.socket = socket;
            this.in = in;
            this.out = out;
        }

        /** The driver's next request; null when the driver ends the session. */
        Request next() throws IOException {
            return Request.read(in);
        }

        void answer(AveragingStage.Rounds rounds) throws IOException {
            out.writeObject(rounds);
            out.flush();
            out.reset(); // the stream would otherwise keep every answer it sent
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /**
     * Rounds to train: {@code model} is the encoded model to start from, or null for the one the worker holds,
     * whose parameters hash to {@code startHash}.
     */
    record Request(int epoch, int firstRound, int endRound, int steps, boolean evaluate, byte[] model,
                   int startHash) {
        private static final int TRAIN = 1;
        private static final int END = 0;

        void write(DataOutputStream out) throws IOException {
            out.writeInt(TRAIN);
            out.writeInt(epoch);
            out.writeInt(firstRound);
            out.writeInt(endRound);
            out.writeInt(steps);
            out.writeBoolean(evaluate);
            out.writeInt(startHash);
            out.writeInt(model == null ? -1 : model.length);
            if (model != null) {
                out.write(model);
            }
            out.flush();
        }

        static void writeEnd(DataOutputStream out) throws IOException {
            out.writeInt(END);
            out.flush();
        }

        static Request read(DataInputStream in) throws IOException {
            if (in.readInt() == END) {
                return null;
            }
            int epoch = in.readInt();
            int first = in.readInt();
            int end = in.readInt();
            int steps = in.readInt();
            boolean evaluate = in.readBoolean();
            int hash = in.readInt();
            int length = in.readInt();
            byte[] model = length < 0 ? null : in.readNBytes(length);
            return new Request(epoch, first, end, steps, evaluate, model, hash);
        }
    }
}
