package dev.shoal.kernel.sharing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workers of one gradient-sharing stage, connected to each other over plain TCP: every pair by one socket,
 * opened by the higher rank after a {@link Handshake} on the run's secret; a connection that fails it is closed
 * and logged, and the worker goes on waiting for its real peers. No fixed port (each worker listens on an
 * ephemeral one and the addresses are exchanged beforehand), no UDP, no daemon. Every connect and read has a
 * timeout; a peer that fails or stalls
 * raises a {@link PeerException} naming it.
 *
 * <p>Sends run on a helper thread while this thread receives, so two peers sending large messages to each other
 * cannot block each other on full socket buffers. Not thread-safe: one step at a time.
 *
 * <p>Peers in the same JVM (local mode, or an executor that runs several workers) learn so when they connect, and
 * {@link #allGather(byte[])}'s bytes then go from one to the other in memory: the sender leaves its array with
 * the receiver's group and sends a marker, the receiver copies the array and acknowledges over the socket, and
 * the sender returns only after every such acknowledgement, so it may write over its array again. The socket
 * still carries the marker and the acknowledgement, so a peer that fails or stalls is caught as before. (A
 * Fashion-MNIST MLP's 2.8 MB result took ~2.2 ms each way over loopback TCP.) Peers in other JVMs of the same
 * machine (executors side by side, as on the local standalone cluster) learn so by reading a file each leaves in
 * {@code /dev/shm}, and then hand those bytes over the same way through a {@link SharedRegion}: the sender copies
 * them into a shared-memory file and sends a marker, the receiver copies them out and acknowledges.
 */
public final class PeerGroup implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerGroup.class);
    /** How long a connection may take to prove itself before it is dropped. */
    private static final int HANDSHAKE_MILLIS = 2_000;
    /** This JVM, as peers recognize it; {@link #connect} with another value stands for a JVM of its own (tests). */
    private static final long THIS_JVM = new SecureRandom().nextLong();
    /** The groups of this JVM by token, for peers in this JVM to leave bytes with. */
    private static final Map<Long, PeerGroup> GROUPS = new ConcurrentHashMap<>();
    /** A peer's length word for bytes left in memory, and the acknowledgement that they were copied. */
    private static final int IN_MEMORY = -1;
    /** A peer's length word for bytes in its shared-memory region; the length and the region's path follow. */
    private static final int IN_SHARED = -2;
    private static final int COPIED = 0x434f5059;
    private final int rank;
    private final List<PeerAddress> addresses;
    private final Socket[] sockets;
    private final DataInputStream[] in;
    private final DataOutputStream[] out;
    private final ExecutorService sender;
    private long bytesSent;
    private final byte[][] buffers = {new byte[0], new byte[0]};
    /** The JVM this group is in (THIS_JVM but in tests), and the group's name in {@link #GROUPS}. */
    private final long jvm;
    private final long token = new SecureRandom().nextLong();
    /** Each peer's group if it is in this JVM (then bytes go in memory), else null; by rank. */
    private final PeerGroup[] local;
    /** Bytes peers in this JVM left for this group, by their rank, until copied. */
    private final AtomicReferenceArray<byte[]> left;
    /** Each peer's bytes from the last {@link #allGather(byte[])}, by rank; the next takes them again if it can. */
    private final byte[][] received;
    /** Whether to look for peers on this machine to exchange through shared memory with. */
    private final boolean sharedMemory;
    /** By rank: whether the peer is in another JVM of this machine; the regions this worker writes and reads. */
    private final boolean[] sameMachine;
    private final SharedRegion[] outgoing;
    private final SharedRegion[] incoming;
    /** By rank, for one {@link #allGather(byte[])}: bytes handed to the peer, and taken from it, without TCP. */
    private final boolean[] handedOver;
    private final boolean[] tookOver;

    private PeerGroup(int rank, List<PeerAddress> addresses, long jvm, boolean sharedMemory) {
        this.rank = rank;
        this.addresses = List.copyOf(addresses);
        this.jvm = jvm;
        this.sharedMemory = sharedMemory;
        int n = addresses.size();
        this.sameMachine = new boolean[n];
        this.outgoing = new SharedRegion[n];
        this.incoming = new SharedRegion[n];
        this.handedOver = new boolean[n];
        this.tookOver = new boolean[n];
        this.local = new PeerGroup[n];
        this.left = new AtomicReferenceArray<>(n);
        this.sockets = new Socket[n];
        this.in = new DataInputStream[n];
        this.out = new DataOutputStream[n];
        this.received = new byte[n][0];
        this.sender = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "shoal-peer-send-" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    /** Listens on an ephemeral port of {@code host}; its {@link #address} is what peers connect to. */
    public static ServerSocket listen(String host) throws IOException {
        ServerSocket server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        return server;
    }

    /** The address of a listening socket. */
    public static PeerAddress address(ServerSocket server) {
        return new PeerAddress(server.getInetAddress().getHostAddress(), server.getLocalPort());
    }

    /**
     * Connects worker {@code rank} to every other worker. {@code addresses} lists every worker's listening
     * address by rank; {@code server} is this worker's own (closed when done); {@code secret} is the run's, which
     * every connection proves before it counts.
     */
    public static PeerGroup connect(int rank, List<PeerAddress> addresses, ServerSocket server, Duration timeout,
                                    byte[] secret) {
        return connect(rank, addresses, server, timeout, secret, THIS_JVM, SharedRegion.available());
    }

    /**
     * {@link #connect} as a group of JVM {@code jvm}: peers of the same value exchange bytes in memory; with
     * {@code sharedMemory}, others on this machine through shared memory.
     */
    static PeerGroup connect(int rank, List<PeerAddress> addresses, ServerSocket server, Duration timeout,
                             byte[] secret, long jvm, boolean sharedMemory) {
        PeerGroup group = new PeerGroup(rank, addresses, jvm, sharedMemory);
        GROUPS.put(group.token, group);
        int millis = (int) timeout.toMillis();
        try (server) {
            for (int peer = 0; peer < rank; peer++) {
                PeerAddress address = addresses.get(peer);
                Socket s = new Socket();
                try {
                    s.connect(new InetSocketAddress(address.host(), address.port()), millis);
                    group.attach(peer, s, millis);
                    Handshake.asClient(group.in[peer], group.out[peer], secret);
                    group.out[peer].writeInt(rank);
                    group.introduce(peer);
                } catch (IOException e) {
                    s.close();
                    throw group.failure(peer, "cannot connect", e);
                }
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            for (int accepted = rank + 1; accepted < addresses.size(); ) {
                int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                server.setSoTimeout(left);
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    throw new PeerException("worker " + rank + ": a higher-ranked peer did not connect within "
                            + timeout.toSeconds() + " s: " + e.getMessage(), e);
                }
                if (group.admit(s, secret, millis)) {
                    accepted++;
                }
            }
            return group;
        } catch (IOException e) {
            group.close();
            throw new PeerException("worker " + rank + ": cannot set up peer connections: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
    }

    /**
     * Takes a connection into the group if it proves it is a higher-ranked peer of this run; closes and logs it
     * otherwise. Returns whether it was taken.
     */
    private boolean admit(Socket s, byte[] secret, int millis) throws IOException {
        int peer;
        try {
            s.setSoTimeout(Math.min(millis, HANDSHAKE_MILLIS));
            // Unbuffered: nothing past the peer's rank may be read here, its messages follow.
            DataInputStream din = new DataInputStream(s.getInputStream());
            Handshake.asServer(din, new DataOutputStream(s.getOutputStream()), secret);
            peer = din.readInt();
            if (peer <= rank || peer >= addresses.size() || sockets[peer] != null) {
                throw new IOException("it claims to be worker " + peer + ", which is not a peer still expected");
            }
        } catch (IOException e) {
            LOG.warn("worker {}: refused a connection from {}: {}", rank, s.getRemoteSocketAddress(),
                    e.getMessage());
            s.close();
            return false;
        }
        attach(peer, s, millis);
        introduce(peer);
        return true;
    }

    /** Tells a newly connected peer which JVM and group this is, and learns the same of it. */
    private void introduce(int peer) throws IOException {
        out[peer].writeLong(jvm);
        out[peer].writeLong(token);
        out[peer].flush();
        long peerJvm = in[peer].readLong();
        long peerToken = in[peer].readLong();
        local[peer] = peerJvm == jvm ? GROUPS.get(peerToken) : null;
        if (peerJvm != jvm && sharedMemory) {
            sameMachine[peer] = seeEachOthersFiles(peer);
        }
    }

    /**
     * Whether this worker and {@code peer} (in another JVM) see the same {@code /dev/shm}: each leaves a file
     * holding a random number there and reads the other's. Both ends take the same steps, so both agree.
     */
    private boolean seeEachOthersFiles(int peer) {
        long mine = new SecureRandom().nextLong();
        Path probe = null;
        try {
            probe = Files.createTempFile(SharedRegion.FOLDER, "shoal-probe-", ".bytes");
            Files.write(probe, ByteBuffer.allocate(Long.BYTES).putLong(mine).array());
        } catch (IOException e) {
            probe = null; // this end cannot; the answer is no
        }
        try {
            out[peer].writeUTF(probe == null ? "" : probe.toString());
            out[peer].writeLong(mine);
            out[peer].flush();
            String theirs = in[peer].readUTF();
            long number = in[peer].readLong();
            boolean seen = false;
            if (!theirs.isEmpty()) {
                try {
                    byte[] read = Files.readAllBytes(Path.of(theirs));
                    seen = read.length == Long.BYTES && ByteBuffer.wrap(read).getLong() == number;
                } catch (IOException e) {
                    // Another machine (or another /dev/shm): TCP.
                }
            }
            out[peer].writeBoolean(seen);
            out[peer].flush();
            return in[peer].readBoolean() && seen;
        } catch (IOException e) {
            throw failure(peer, "lost", e);
        } finally {
            if (probe != null) {
                try {
                    Files.deleteIfExists(probe);
                } catch (IOException e) {
                    LOG.warn("worker {}: cannot delete {}: {}", rank, probe, e.toString());
                }
            }
        }
    }

    private void attach(int peer, Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        s.setTcpNoDelay(true);
        sockets[peer] = s;
        in[peer] = new DataInputStream(new BufferedInputStream(s.getInputStream(), 1 << 16));
        out[peer] = new DataOutputStream(new BufferedOutputStream(s.getOutputStream(), 1 << 16));
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return addresses.size();
    }

    /** Bytes this worker has sent to its peers so far. */
    public long bytesSent() {
        return bytesSent;
    }

    /** Every worker's message, indexed by rank (this worker's own included). */
    public GradientMessage[] allGather(GradientMessage mine) {
        byte[] wire = mine.toBytes();
        return allGather(mine, new GradientMessage[size()], (peer, stream) -> {
            stream.write(wire);
            return wire.length;
        }, (peer, stream) -> GradientMessage.read(stream));
    }

    /**
     * Every worker's bytes, indexed by rank (this worker's own included). A peer's array is reused by the next
     * call when that peer sends as many bytes again (an averaging stage's results, round after round), so read
     * the arrays before calling again.
     */
    public byte[][] allGather(byte[] mine) {
        Arrays.fill(handedOver, false);
        Arrays.fill(tookOver, false);
        byte[][] all = allGather(mine, new byte[size()][], (peer, stream) -> {
            if (local[peer] != null) {
                local[peer].left.set(rank, mine);
                stream.writeInt(IN_MEMORY);
                handedOver[peer] = true;
                return Integer.BYTES;
            }
            if (sameMachine[peer]) {
                String created = "";
                try {
                    if (outgoing[peer] == null || outgoing[peer].capacity() < mine.length) {
                        SharedRegion old = outgoing[peer];
                        outgoing[peer] = SharedRegion.create(mine.length);
                        created = outgoing[peer].path().toString();
                        if (old != null) {
                            old.close();
                        }
                    }
                    outgoing[peer].write(mine);
                } catch (IOException e) {
                    LOG.warn("worker {}: shared memory for peer {} failed, TCP from now on: {}", rank, peer,
                            e.toString());
                    sameMachine[peer] = false;
                }
                if (sameMachine[peer]) {
                    stream.writeInt(IN_SHARED);
                    stream.writeInt(mine.length);
                    stream.writeUTF(created);
                    handedOver[peer] = true;
                    return 2 * Integer.BYTES + 2 + created.length();
                }
            }
            stream.writeInt(mine.length);
            stream.write(mine);
            return Integer.BYTES + mine.length;
        }, (peer, stream) -> {
            int length = stream.readInt();
            if (length == IN_SHARED) {
                return takeShared(peer, stream);
            }
            byte[] bytes = length == IN_MEMORY && local[peer] != null ? left.getAndSet(peer, null) : null;
            if (length < 0 && bytes == null) {
                throw new IOException("a message of " + length + " bytes");
            }
            int size = bytes != null ? bytes.length : length;
            byte[] into = receiving(peer, size);
            if (bytes != null) {
                System.arraycopy(bytes, 0, into, 0, size);
                tookOver[peer] = true;
            } else {
                stream.readFully(into);
            }
            return into;
        });
        acknowledgeCopies();
        return all;
    }

    /** Bytes {@code peer} put in its shared-memory region (mapped here first if it made a new one). */
    private byte[] takeShared(int peer, DataInputStream stream) throws IOException {
        int size = stream.readInt();
        String created = stream.readUTF();
        if (!created.isEmpty()) {
            SharedRegion old = incoming[peer];
            incoming[peer] = SharedRegion.open(Path.of(created));
            if (old != null) {
                old.close();
            }
        }
        if (incoming[peer] == null || size < 0 || size > incoming[peer].capacity()) {
            throw new IOException("shared-memory bytes (" + size + ") that no region of the peer holds");
        }
        byte[] into = receiving(peer, size);
        incoming[peer].read(into);
        tookOver[peer] = true;
        return into;
    }

    /** The array {@code peer}'s next {@code size} bytes go into: the last one's if of that size. */
    private byte[] receiving(int peer, int size) {
        if (received[peer].length != size) {
            received[peer] = new byte[size];
        }
        return received[peer];
    }

    /**
     * Tells each peer whose bytes this worker took from memory (its own JVM's or shared) that they were copied,
     * then waits until each peer it handed bytes to that way has copied them, after which the caller's array (and
     * this worker's shared-memory regions) are its own again; a region the peer has now mapped loses its name.
     */
    private void acknowledgeCopies() {
        for (int peer = 0; peer < size(); peer++) {
            if (tookOver[peer]) {
                try {
                    out[peer].writeInt(COPIED);
                    out[peer].flush();
                    bytesSent += Integer.BYTES;
                } catch (IOException e) {
                    throw failure(peer, "cannot send to", e);
                }
            }
        }
        for (int peer = 0; peer < size(); peer++) {
            if (handedOver[peer]) {
                try {
                    int word = in[peer].readInt();
                    if (word != COPIED) {
                        throw new IOException("expected the acknowledgement of a copy, read " + word);
                    }
                    if (outgoing[peer] != null) {
                        outgoing[peer].unlink();
                    }
                } catch (IOException e) {
                    throw failure(peer, "lost", e);
                }
            }
        }
    }

    /** Writes a message to one peer's stream; returns the bytes written. */
    private interface Writer {
        int write(int peer, DataOutputStream out) throws IOException;
    }

    /** Reads a message from one peer's stream. */
    private interface Reader<T> {
        T read(int peer, DataInputStream in) throws IOException;
    }

    /**
     * Sends this worker's message (as {@code write} puts it) to every peer while reading each peer's with
     * {@code read}, into {@code all} by rank, {@code mine} at this worker's.
     */
    private <T> T[] allGather(T mine, T[] all, Writer write, Reader<T> read) {
        Future<Long> sending = sender.submit(() -> {
            long sent = 0;
            for (int peer = 0; peer < size(); peer++) {
                if (peer != rank) {
                    try {
                        sent += write.write(peer, out[peer]);
                        out[peer].flush();
                    } catch (IOException e) {
                        throw failure(peer, "cannot send to", e);
                    }
                }
            }
            return sent;
        });
        all[rank] = mine;
        for (int peer = 0; peer < size(); peer++) {
            if (peer != rank) {
                try {
                    all[peer] = read.read(peer, in[peer]);
                } catch (IOException e) {
                    sending.cancel(true);
                    throw failure(peer, "lost", e);
                }
            }
        }
        bytesSent += await(sending);
        return all;
    }

    /**
     * Replaces {@code data} on every worker by the sum over workers, with a ring all-reduce (reduce-scatter, then
     * all-gather): each worker sends and receives 2(n-1)/n of the data, whatever the number of workers. Each
     * chunk is summed once, on one worker, and copied to the rest, so every worker ends with identical bits.
     */
    public void ringAllReduce(float[] data) {
        int n = size();
        if (n == 1) {
            return;
        }
        int next = (rank + 1) % n;
        int previous = (rank + n - 1) % n;
        for (int phase = 0; phase < 2; phase++) {
            for (int step = 0; step < n - 1; step++) {
                // Reduce-scatter sends chunk (rank - step) and adds into (rank - step - 1); all-gather copies.
                int sendChunk = Math.floorMod(rank - step + phase, n);
                int receiveChunk = Math.floorMod(rank - step - 1 + phase, n);
                int from = chunkStart(sendChunk, n, data.length);
                int to = chunkStart(sendChunk + 1, n, data.length);
                byte[] sendBytes = buffer(0, to - from);
                ByteBuffer.wrap(sendBytes).asFloatBuffer().put(data, from, to - from);
                Future<?> sending = sender.submit(() -> {
                    try {
                        out[next].write(sendBytes, 0, Float.BYTES * (to - from));
                        out[next].flush();
                    } catch (IOException e) {
                        throw failure(next, "cannot send to", e);
                    }
                });
                int rFrom = chunkStart(receiveChunk, n, data.length);
                int rTo = chunkStart(receiveChunk + 1, n, data.length);
                byte[] receiveBytes = buffer(1, rTo - rFrom);
                try {
                    in[previous].readFully(receiveBytes, 0, Float.BYTES * (rTo - rFrom));
                } catch (IOException e) {
                    sending.cancel(true);
                    throw failure(previous, "lost", e);
                }
                FloatBuffer received = ByteBuffer.wrap(receiveBytes).asFloatBuffer();
                await(sending);
                bytesSent += 4L * (to - from);
                for (int i = rFrom; i < rTo; i++) {
                    data[i] = phase == 0 ? data[i] + received.get(i - rFrom) : received.get(i - rFrom);
                }
            }
        }
    }

    /** Reusable byte buffer {@code which} (0: sending, 1: receiving) for {@code floats} values. */
    private byte[] buffer(int which, int floats) {
        if (buffers[which].length < Float.BYTES * floats) {
            buffers[which] = new byte[Float.BYTES * floats];
        }
        return buffers[which];
    }

    private static int chunkStart(int chunk, int chunks, int length) {
        return (int) ((long) chunk * length / chunks);
    }

    private <T> T await(Future<T> sending) {
        try {
            return sending.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PeerException("worker " + rank + ": interrupted while sending", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof PeerException p ? p
                    : new PeerException("worker " + rank + ": sending failed: " + e.getCause(), e.getCause());
        }
    }

    private static void closeQuietly(SharedRegion region) {
        if (region != null) {
            try {
                region.close();
            } catch (IOException e) {
                // Closing anyway.
            }
        }
    }

    private PeerException failure(int peer, String what, Exception e) {
        return new PeerException("worker " + rank + " " + what + " peer worker " + peer + " at "
                + addresses.get(peer) + ": " + e, e);
    }

    @Override
    public void close() {
        GROUPS.remove(token);
        sender.shutdownNow();
        for (SharedRegion region : outgoing) {
            closeQuietly(region);
        }
        for (SharedRegion region : incoming) {
            closeQuietly(region);
        }
        for (Socket s : sockets) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException e) {
                    // Closing anyway.
                }
            }
        }
    }
}
