package dev.shoal.driver.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Finds and opens input files through Hadoop's FileSystem (any URI Hadoop knows), gunzipping gzipped ones. */
public final class InputFiles {
    private static final int BUFFER = 1 << 16;
    private static final Comparator<FileStatus> BY_NAME = Comparator.comparing(f -> f.getPath().getName());

    /**
     * Hadoop's configuration, one per JVM: building one parses Hadoop's default XML resources again (~10 ms each
     * time, once per file a task opened). Read, never changed.
     */
    private static final Configuration HADOOP = new Configuration();

    private InputFiles() {
    }

    /** The file system that holds {@code path}. */
    public static FileSystem fileSystem(Path path) throws IOException {
        return path.getFileSystem(HADOOP);
    }

    /**
     * The files {@code path} names: a file, the files of a folder (not its subfolders; hidden files left out),
     * or the files a glob pattern matches ({@code data_batch_*.bin}); in name order. Empty when nothing matches.
     */
    public static List<FileStatus> list(String path) throws IOException {
        Path p = new Path(path);
        FileSystem fs = fileSystem(p);
        FileStatus[] matched = fs.globStatus(p);
        List<FileStatus> files = new ArrayList<>();
        for (FileStatus m : matched == null ? new FileStatus[0] : matched) {
            files.addAll(m.isDirectory() ? filesIn(fs, m.getPath()) : List.of(m));
        }
        files.sort(BY_NAME);
        return files;
    }

    /** The files of {@code folder} (not its subfolders; hidden files left out), in name order. */
    static List<FileStatus> filesIn(FileSystem fs, Path folder) throws IOException {
        List<FileStatus> files = new ArrayList<>(Arrays.asList(fs.listStatus(folder)));
        files.removeIf(f -> !f.isFile() || f.getPath().getName().startsWith("."));
        files.sort(BY_NAME);
        return files;
    }

    /** A buffered stream of the file's content; gzip is detected from the first bytes, not from the name. */
    static InputStream open(String path) throws IOException {
        Path p = new Path(path);
        FileSystem fs = fileSystem(p);
        InputStream raw = new BufferedInputStream(fs.open(p), BUFFER);
        raw.mark(2);
        int b0 = raw.read();
        int b1 = raw.read();
        raw.reset();
        return b0 == 0x1f && b1 == 0x8b ? new BufferedInputStream(new GZIPInputStream(raw, BUFFER), BUFFER) : raw;
    }
}
