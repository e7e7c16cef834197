package dev.shoal.driver.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.train.Metrics;
import dev.shoal.kernel.config.UserFacingException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;

/**
 * {@code runs/<run-id>/}: the files of one run. Whole files are written to a temporary name and renamed into
 * place, so a reader never sees half a model; metrics are appended a line at a time as training goes.
 */
public final class RunDirectory implements Consumer<Metrics>, AutoCloseable {
    public static final String PLAN = "plan.yaml";
    public static final String MODEL = "model.zip";
    public static final String METRICS = "metrics.jsonl";
    public static final String PROVENANCE = "provenance.json";
    /** A text model's words, one per line, id 2 first ({@link dev.shoal.driver.data.Vocabulary}). */
    public static final String VOCABULARY = "vocabulary.txt";
    /** A character model's characters ({@link dev.shoal.driver.data.Alphabet}). */
    public static final String ALPHABET = "alphabet.json";
    /** A GAN's generated images, a grid of 64 drawn from seeded noise by the saved model. */
    public static final String SAMPLES = "samples.png";

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper JSON_LINE = new ObjectMapper();

    private final Path dir;
    private final BufferedWriter metrics;

    private RunDirectory(Path dir, StandardOpenOption mode) throws IOException {
        this.dir = dir;
        this.metrics = Files.newBufferedWriter(dir.resolve(METRICS), StandardCharsets.UTF_8, mode,
                StandardOpenOption.WRITE);
    }

    /** Deletes {@code dir} and everything in it (the temporary folders commands and runs work in). */
    public static void deleteAll(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Creates {@code parent/runId}; fails if it exists, so a run never writes over another one. */
    public static RunDirectory create(Path parent, String runId) {
        Path dir = parent.resolve(runId);
        try {
            if (Files.exists(parent) && !Files.isDirectory(parent)) {
                throw new UserFacingException("cannot create run directory " + dir + ": " + parent
                        + " is a file, not a folder (output.dir)");
            }
            Files.createDirectories(parent);
            Files.createDirectory(dir);
            return new RunDirectory(dir, StandardOpenOption.CREATE_NEW);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new UserFacingException("run directory " + dir + " already exists; choose another output.run-id");
        } catch (AccessDeniedException e) {
            throw new UserFacingException("cannot create run directory " + dir + ": permission denied on "
                    + e.getFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens the directory of a run that stopped before it finished, to go on from a checkpoint taken when
     * metrics.jsonl was {@code metricsBytes} long: the lines written after the checkpoint are cut, since the
     * resumed run writes them again.
     */
    public static RunDirectory reopen(Path dir, long metricsBytes) {
        if (Files.exists(dir.resolve(PROVENANCE))) {
            throw new UserFacingException("run " + dir + " has already completed (it has " + PROVENANCE
                    + "); there is nothing to resume");
        }
        Path metrics = dir.resolve(METRICS);
        try (FileChannel channel = FileChannel.open(metrics, StandardOpenOption.WRITE)) {
            if (channel.size() < metricsBytes) {
                throw new UserFacingException(metrics + " is " + channel.size() + " bytes, shorter than the "
                        + metricsBytes + " it had at the checkpoint; it was changed since");
            }
            channel.truncate(metricsBytes);
            return new RunDirectory(dir, StandardOpenOption.APPEND);
        } catch (NoSuchFileException e) {
            throw new UserFacingException("cannot resume " + dir + ": it has no " + METRICS);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reopen " + metrics + ": " + e.getMessage(), e);
        }
    }

    public Path path() {
        return dir;
    }

    /** Writes {@code name} whole, or not at all: to a temporary file first, then an atomic rename. */
    public void writeAtomically(String name, IoWriter writer) {
        writeAtomically(dir.resolve(name), writer);
    }

    /** Writes {@code value} as indented JSON to {@code target}, whole or not at all. */
    public static void writeJson(Path target, Object value) {
        writeAtomically(target, temp -> JSON.writeValue(temp.toFile(), value));
    }

    /** Writes {@code target} whole, or not at all: to a temporary file beside it first, then an atomic rename. */
    public static void writeAtomically(Path target, IoWriter writer) {
        Path temp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            writer.write(temp);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // the original error is the one worth reporting
            }
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    public void writeJson(String name, Object value) {
        writeJson(dir.resolve(name), value);
    }

    /**
     * Copies the finished run's model, plan and metrics, then {@code provenance} as provenance.json, to
     * {@code <uri>/<run id>/} on any Hadoop file system, each file whole or not at all; returns that folder.
     */
    public String copyTo(String uri, Object provenance) {
        HadoopFolder folder = new HadoopFolder(HadoopFolder.join(uri, dir.getFileName().toString()));
        try (FileSystem fs = folder.open()) {
            for (String name : List.of(MODEL, VOCABULARY, ALPHABET, SAMPLES, PLAN, METRICS)) {
                if (Files.exists(dir.resolve(name))) {
                    folder.writeAtomically(fs, name, out -> Files.copy(dir.resolve(name), out));
                }
            }
            byte[] json = JSON.writeValueAsBytes(provenance);
            folder.writeAtomically(fs, PROVENANCE, out -> out.write(json));
            return folder.path().toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the run to " + folder.path() + " (output.copy-to): "
                    + HadoopFolder.reason(e) + "; the model is in " + dir.resolve(MODEL) + ", and 'shoal train "
                    + "--resume " + dir + "' tries the copy again", e);
        }
    }

    /** The length of metrics.jsonl so far, in bytes: every record is on disk once {@link #accept} returns. */
    public long metricsBytes() {
        try {
            return Files.size(dir.resolve(METRICS));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of " + dir.resolve(METRICS), e);
        }
    }

    /** The metrics records of the run in {@code dir}, one a line of its metrics.jsonl, in order. */
    public static List<JsonNode> readMetrics(Path dir) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(METRICS))) {
            records.add(JSON_LINE.readTree(line));
        }
        return records;
    }

    /** Appends one metrics record as a JSON line, with its kind first. */
    @Override
    public void accept(Metrics m) {
        ObjectNode line = JSON_LINE.createObjectNode();
        line.put("type", m instanceof Metrics.Data ? "data" : m instanceof Metrics.Round ? "round"
                : m instanceof Metrics.Step ? "step" : m instanceof Metrics.Stage ? "stage" : "epoch");
        line.setAll((ObjectNode) JSON_LINE.valueToTree(m));
        try {
            metrics.write(JSON_LINE.writeValueAsString(line));
            metrics.newLine();
            metrics.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + dir.resolve(METRICS) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            metrics.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a file at the given path. */
    @FunctionalInterface
    public interface IoWriter {
        void write(Path path) throws IOException;
    }
}
