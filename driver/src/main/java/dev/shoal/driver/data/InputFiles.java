package dev.shoal.driver.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Opens input files through Hadoop's FileSystem (any URI Hadoop knows), gunzipping those that are gzipped. */
final class InputFiles {
    private static final int BUFFER = 1 << 16;

    private InputFiles() {
    }

    /** A buffered stream of the file's content; gzip is detected from the first bytes, not from the name. */
    static InputStream open(String path) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(new Configuration());
        InputStream raw = new BufferedInputStream(fs.open(p), BUFFER);
        raw.mark(2);
        int b0 = raw.read();
        int b1 = raw.read();
        raw.reset();
        return b0 == 0x1f && b1 == 0x8b ? new BufferedInputStream(new GZIPInputStream(raw, BUFFER), BUFFER) : raw;
    }
}
