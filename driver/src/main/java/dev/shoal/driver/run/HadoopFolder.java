package dev.shoal.driver.run;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A folder on any Hadoop file system (local, HDFS, S3A) whose files are written whole or not at all: under a
 * temporary name first, renamed into place once complete, and deleted again if anything fails on the way (a full
 * disk, an exceeded quota, a lost connection), so the folder is left as it was.
 */
final class HadoopFolder {
    private final Path dir;
    private final Configuration conf = new Configuration();

    HadoopFolder(String uri) {
        this.dir = new Path(uri);
    }

    /** The folder {@code name} inside the folder {@code uri}. */
    static String join(String uri, String name) {
        return uri.replaceAll("/+$", "") + "/" + name;
    }

    /** What went wrong, in one line: HDFS puts a whole server-side stack trace into some messages. */
    static String reason(IOException e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName()
                : message.lines().findFirst().orElse("");
    }

    Path path() {
        return dir;
    }

    /**
     * A file system instance of this folder's own, to close when done (Hadoop's cached instance is shared with
     * Spark). It writes no .crc files beside ours: our files carry their own checksums.
     */
    FileSystem open() throws IOException {
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
    static boolean isTemporary(String name) {
        return name.startsWith("_") && name.endsWith(".tmp");
    }

    /** Writes {@code name}, replacing the file of that name if there is one. */
    void writeAtomically(FileSystem fs, String name, StreamWriter writer) throws IOException {
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

    /** Writes a file's contents to a stream. */
    @FunctionalInterface
    interface StreamWriter {
        void write(OutputStream out) throws IOException;
    }
}
