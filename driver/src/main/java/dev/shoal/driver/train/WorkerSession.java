package dev.shoal.driver.train;

import dev.shoal.kernel.KernelThreads;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.sharing.Handshake;
import dev.shoal.kernel.sharing.PeerAddress;
import dev.shoal.kernel.sharing.PeerGroup;
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
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToIntFunction;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workers that run as one Spark barrier stage for the whole run instead of one stage an epoch (or checkpoint
 * interval): they connect to each other and to this session once, then answer the driver's requests one after
 * another, keeping what they hold between them (the model, an encoder's residual), until the driver ends the
 * session. Averaging on the workers ({@link AveragingStage}) and gradient sharing ({@link SharingTask}) run this
 * way; a request is the rounds or the epoch a stage ran, its answers what the stage's tasks returned.
 *
 * <p>Why: every Spark job costs its scheduling, the task binary's broadcast, the tasks' deserialization and the
 * results' trip back, plus the workers' connections to each other: 40-65 ms an epoch in local mode and 105-186 ms on
 * the local standalone cluster (the executors' JVMs run Spark's task code cold), an eighth of a Fashion-MNIST
 * MLP epoch there. A request and its answers cost a round trip on a socket the driver holds.
 *
 * <p>While a session lives it holds a slot on every worker's executor. So that no other Spark job waits for it
 * forever (one the driver runs between epochs, another trial's of {@code shoal tune}), it yields: when a job of
 * this context that is not its own starts, the session ends as soon as it is not answering a request (and has
 * answered one), and the caller starts a new one for its next request ({@link YieldedException}), sending the
 * model again. A worker that
 * fails (an executor lost) fails the whole session: its job is cancelled, its sockets closed, and the caller
 * starts another.
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
    private final ObjectOutputStream[] requests;
    private final ObjectInputStream[] answers;
    private final SparkContext spark;
    private final SparkListener yielder;
    /**
     * Guarded by this: a request has been answered; another job wants the cores; the session takes no more
     * requests. A session answers at least one request before it yields (two sessions that yielded to each other's
     * start would get nothing done), and never in the middle of one.
     */
    private boolean answered;
    private boolean answering;
    private boolean yieldWanted;
    private boolean open = true;
    private final AtomicBoolean released = new AtomicBoolean();

    /** The local property that marks the session's own job, so that it does not yield to itself. */
    private static final String JOB_PROPERTY = "shoal.worker-session";

    /** The session ended to let another Spark job have the cores before this request went out. */
    static final class YieldedException extends RuntimeException {
        YieldedException(String name) {
            super("workers' session " + name + " yielded its cores to another Spark job");
        }
    }

    /** A worker's part of a session, shipped to the executors: it serves requests until the driver ends. */
    @FunctionalInterface
    interface Body extends Serializable {
        Iterator<Integer> serve(Rendezvous.Address peers, Address driver, String session,
                                Iterator<BarrierStages.WorkerBlocks> input);
    }

    /**
     * Starts the session's job on {@code blocks} (one partition a worker), each worker running {@code body}, and
     * waits until every worker has connected; fails with the job's error if the job ends first.
     */
    WorkerSession(JavaSparkContext sc, String name, String driverHost, JavaRDD<BarrierStages.WorkerBlocks> blocks,
                  byte[] secret, Body body) {
        this.name = name + "-" + Long.toHexString(new SecureRandom().nextLong());
        this.spark = sc.sc();
        int workers = blocks.getNumPartitions();
        sockets = new Socket[workers];
        requests = new ObjectOutputStream[workers];
        answers = new ObjectInputStream[workers];
        rendezvous = new Rendezvous(driverHost, secret);
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
        String id = this.name;
        yielder = new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart start) {
                if (start.properties() == null || !id.equals(start.properties().getProperty(JOB_PROPERTY))) {
                    yieldCores();
                }
            }
        };
        spark.addSparkListener(yielder); // before the job: a job that starts meanwhile is seen
        String before = sc.getLocalProperty(JOB_PROPERTY);
        sc.setLocalProperty(JOB_PROPERTY, id);
        try {
            job = BarrierStages.submit(blocks, Integer.class, input -> body.serve(peers, at, id, input));
        } catch (RuntimeException e) {
            spark.removeSparkListener(yielder);
            closeQuietly(server);
            rendezvous.close();
            throw e;
        } finally {
            sc.setLocalProperty(JOB_PROPERTY, before);
        }
        try {
            acceptWorkers(secret);
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
                ObjectOutputStream objects = new ObjectOutputStream(out);
                objects.flush();
                answers[rank] = new ObjectInputStream(in);
                s.setSoTimeout(0); // a request takes as long as it takes
                sockets[rank] = s;
                requests[rank] = objects;
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
            if (isOpen()) { // not ended on purpose
                LOG.warn("workers' session {} failed: {}", name, e.toString());
                closeSockets();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Another job started: the session ends now if idle (on a thread of its own, not the listener's), else once
     * its request is answered.
     */
    private synchronized boolean isOpen() {
        return open;
    }

    private synchronized void yieldCores() {
        if (!open) {
            return;
        }
        if (answering || !answered) {
            yieldWanted = true;
            return;
        }
        open = false;
        Thread ending = new Thread(this::close, "shoal-session-yield");
        ending.setDaemon(true);
        ending.start();
    }

    /**
     * Every worker's answer to {@code request}, by rank ({@code rank} reads an answer's); a
     * {@link YieldedException}, before anything went out, if the session has yielded its cores.
     */
    <A> List<A> ask(Serializable request, Class<A> type, ToIntFunction<A> rank) {
        synchronized (this) {
            if (!open) {
                throw new YieldedException(name);
            }
            answering = true;
        }
        boolean yieldNow;
        try {
            return answers(request, type, rank);
        } finally {
            synchronized (this) {
                answering = false;
                answered = true;
                yieldNow = yieldWanted && open;
                open &= !yieldNow;
            }
            if (yieldNow) {
                close();
            }
        }
    }

    private <A> List<A> answers(Serializable request, Class<A> type, ToIntFunction<A> rank) {
        List<A> all = new ArrayList<>();
        int worker = 0;
        try {
            for (; worker < requests.length; worker++) {
                send(requests[worker], request);
            }
            for (worker = 0; worker < answers.length; worker++) {
                all.add(type.cast(answers[worker].readObject()));
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
            IllegalStateException failed = new IllegalStateException("worker " + worker + " of the workers' "
                    + "session broke off (" + e + "); the session's job: " + (job.isDone() ? jobError()
                    : "still running"));
            failed.addSuppressed(e);
            throw failed;
        }
        all.sort(Comparator.comparingInt(rank));
        return all;
    }

    private static void send(ObjectOutputStream out, Object request) throws IOException {
        out.writeObject(request);
        out.flush();
        out.reset(); // the stream would otherwise keep every request it sent
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
        synchronized (this) {
            open = false;
        }
        if (released.get()) {
            return;
        }
        closeQuietly(server); // a retried task of this job connects nowhere
        for (ObjectOutputStream out : requests) {
            if (out != null) {
                try {
                    send(out, null);
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
        synchronized (this) {
            open = false;
        }
        closeQuietly(server);
        job.cancel(true);
        release();
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            spark.removeSparkListener(yielder);
            closeSockets();
            rendezvous.close();
        }
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

    /** A worker's state between requests, made when the session starts on it. */
    interface Server<Q, A extends Serializable> extends AutoCloseable {
        A answer(Q request) throws Exception;

        @Override
        default void close() {
        }
    }

    /**
     * The model a request says to start from: {@code encoded} if it carries one, else {@code held} (the one the
     * worker ended the last request with) if its parameters hash to {@code startHash}; else an error naming
     * {@code rank} and {@code where}.
     */
    static ModelSnapshot startModel(byte[] encoded, ModelSnapshot held, int startHash, int rank, String where) {
        if (encoded != null) {
            return SnapshotCodec.decode(encoded);
        }
        if (held != null && Arrays.hashCode(held.params()) == startHash) {
            return held;
        }
        throw new IllegalStateException("worker " + rank + " does not hold the model the driver asked it to train on"
                + " (" + where + ")");
    }

    /** Makes a worker's {@link Server} once it is connected to its peers. */
    @FunctionalInterface
    interface Servers<Q, A extends Serializable> {
        Server<Q, A> start(int rank, PeerGroup peers, BarrierStages.WorkerBlocks blocks);
    }

    /**
     * Runs on a worker (a barrier task): connects to the other workers through {@code rendezvous} and to the
     * driver's session at {@code driver}, then answers each request with the server {@code servers} makes, on a
     * kernel thread, until the driver ends the session. Returns the worker's rank.
     */
    static <Q, A extends Serializable> Iterator<Integer> serve(Rendezvous.Address rendezvous, Address driver,
                                                              String session, byte[] secret, Duration timeout,
                                                              Class<Q> type, Iterator<BarrierStages.WorkerBlocks> input,
                                                              Servers<Q, A> servers) {
        BarrierTaskContext context = BarrierTaskContext.get();
        int rank = context.partitionId();
        int size = context.getTaskInfos().length;
        BarrierStages.WorkerBlocks blocks = input.next();
        try (PeerGroup peers = rendezvous.connectPeers(session, rank, size, timeout, secret);
             Link link = driver.connect(session, rank, timeout, secret)) {
            return List.of(KernelThreads.call(() -> {
                try (Server<Q, A> server = servers.start(rank, peers, blocks)) {
                    for (Q request = link.next(type); request != null; request = link.next(type)) {
                        link.answer(server.answer(request));
                    }
                }
                return rank;
            })).iterator();
        } catch (IOException e) {
            throw new UncheckedIOException("worker " + rank + " lost its session with the driver: " + e, e);
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
                ObjectInputStream requests = new ObjectInputStream(in);
                s.setSoTimeout(0); // the driver's next request comes when the driver is ready
                return new Link(s, requests, objects);
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }
    }

    /** A worker's end of its session: the driver's requests in, its answers out. */
    static final class Link implements Closeable {
        private final Socket socket;
        private final ObjectInputStream in;
        private final ObjectOutputStream out;

        private Link(Socket socket, ObjectInputStream in, ObjectOutputStream out) {
            this.socket = socket;
            this.in = in;
            this.out = out;
        }

        /** The driver's next request; null when the driver ends the session. */
        <Q> Q next(Class<Q> type) throws IOException, ClassNotFoundException {
            return type.cast(in.readObject());
        }

        void answer(Serializable answer) throws IOException {
            send(out, answer);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
