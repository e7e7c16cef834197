package dev.shoal.driver.run;

import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A folder on any Hadoop file system (local, HDFS, S3A) whose files are written whole or not at all: under a
 * temporary name first, renamed into place once complete, and deleted again if anything fails on the way (a full
 * disk, an exceeded quota, a lost connection), so the folder is left as it was.
 */
public final class HadoopFolder {
    private final Path dir;
    private final Configuration conf = new Configuration();

    public HadoopFolder(String uri) {
        this.dir = new Path(uri);
    }

    /** The folder {@code name} inside the folder {@code uri}. */
    public static String join(String uri, String name) {
        return uri.replaceAll("/+$", "") + "/" + name;
    }

    /** What went wrong, in one line: HDFS puts a whole server-side stack trace into some messages. */
    public static String reason(IOException e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName()
                : message.lines().findFirst().orElse("");
    }

    public Path path() {
        return dir;
    }

    /**
     * A file system instance of this folder's own, to close when done (Hadoop's cached instance is shared with
     * Spark). It writes no .crc files beside ours: our files carry their own checksums.
     */
    public FileSystem open() throws IOException {
        FileSystem fs = FileSystem.newInstance(dir.toUri(), conf);
        fs.setWriteChecksum(false);
        fs.setVerifyChecksum(false);
        return fs;
    }

    /** The name a file has while it is written: a crash leaves it behind, never a partial {@code name}. */
    private static String temporaryName(String name) {
        return "_" + name + ".tmp";
    }

    /** Whether {@code name} is a file being written, or one a crash left behind. */
    public static boolean isTemporary(String name) {
        return name.startsWith("_") && name.endsWith(".tmp");
    }

    /** Writes {@code name}, replacing the file of that name if there is one. */
    public void writeAtomically(FileSystem fs, String name, StreamWriter writer) throws IOException {
        Path target = new Path(dir, name);
        Path temp = new Path(dir, temporaryName(name));
        fs.mkdirs(dir);
        try {
            try (FSDataOutputStream out = fs.create(temp, true)) {
                writer.write(out);
            }
            if (fs.exists(target)) {
                fs.delete(target, false);
            }
            if (!fs.rename(temp, target)) {
                throw new IOException("renaming " + temp + " to " + name + " failed");
            }
        } catch (IOException | RuntimeException e) {
            try {
                fs.delete(temp, false);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Writes {@code name} only if there is no file of that name yet, and returns whether it did: false means
     * another writer was first, and its file is left as it is. The test and the write are one step on HDFS (a
     * rename never replaces a file there) and on a local disk (a hard link, link(2), fails when the name exists);
     * on object stores (S3A) they are two, so two writers can both succeed there.
     */
    public boolean writeIfAbsent(FileSystem fs, String name, byte[] content) throws IOException {
        Path target = new Path(dir, name);
        // A name of its own: racing writers must not share a temporary file.
        Path temp = new Path(dir, "_" + name + "." + UUID.randomUUID() + ".tmp");
        fs.mkdirs(dir);
        try {
            try (FSDataOutputStream out = fs.create(temp, false)) {
                out.write(content);
            }
            if ("file".equals(fs.getScheme())) {
                java.nio.file.Path local = java.nio.file.Path.of(fs.makeQualified(target).toUri());
                try {
                    java.nio.file.Files.createLink(local, java.nio.file.Path.of(fs.makeQualified(temp).toUri()));
                    return true;
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    return false;
                }
            }
            if (fs.rename(temp, target)) {
                return true;
            }
            if (fs.exists(target)) {
                return false;
            }
            throw new IOException("renaming " + temp + " to " + name + " failed");
        } finally {
            fs.delete(temp, false);
        }
    }

    /** Writes a file's contents to a stream. */
    @FunctionalInterface
    public interface StreamWriter {
        void write(OutputStream out) throws IOException;
    }
}
