package dev.shoal.kernel.sharing;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file in shared memory ({@code /dev/shm}) mapped into this process, through which a worker hands its bytes to a
 * peer in another JVM on the same machine: the writer creates it, both map it, the writer deletes its name once
 * the reader has mapped it (the mapping outlives the name). A copy into memory and one out of it instead of a trip
 * through the kernel's TCP stack each way.
 */
final class SharedRegion implements Closeable {
    /** Where shared-memory files go; a machine without it exchanges over TCP. */
    static final Path FOLDER = Path.of("/dev/shm");

    private final Path path;
    private final FileChannel channel;
    private final MappedByteBuffer map;
    private boolean named = true;

    private SharedRegion(Path path, FileChannel channel, MappedByteBuffer map) {
        this.path = path;
        this.channel = channel;
        this.map = map;
    }

    /** Whether this machine has a shared-memory folder to put regions in. */
    static boolean available() {
        return Files.isDirectory(FOLDER) && Files.isWritable(FOLDER);
    }

    /**
     * A new region of {@code size} bytes, its pages taken now: a full {@code /dev/shm} fails here with an
     * IOException, not later as a fault in a copy.
     */
    static SharedRegion create(int size) throws IOException {
        Path path = Files.createTempFile(FOLDER, "shoal-peer-", ".bytes");
        FileChannel channel = null;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            ByteBuffer zeros = ByteBuffer.allocate(Math.min(size, 1 << 20));
            for (long at = 0; at < size; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), size - at));
                at += channel.write(zeros, at);
            }
            return new SharedRegion(path, channel, channel.map(FileChannel.MapMode.READ_WRITE, 0, size));
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            Files.deleteIfExists(path);
            throw e;
        }
    }

    /** The region a peer created at {@code path}, mapped to read. */
    static SharedRegion open(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            SharedRegion region = new SharedRegion(path, channel,
                    channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()));
            region.named = false; // its writer deletes the name
            return region;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    Path path() {
        return path;
    }

    int capacity() {
        return map.capacity();
    }

    /** Puts {@code bytes} at the region's start. */
    void write(byte[] bytes) {
        map.put(0, bytes);
    }

    /** Copies the region's first {@code into.length} bytes into {@code into}. */
    void read(byte[] into) {
        map.get(0, into);
    }

    /** Deletes the region's name (its reader has mapped it); the mappings stay. */
    void unlink() throws IOException {
        if (named) {
            Files.deleteIfExists(path);
            named = false;
        }
    }

    /** Closes the channel and deletes the name if still there; the mapping goes when it is collected. */
    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            unlink();
        }
    }
}
