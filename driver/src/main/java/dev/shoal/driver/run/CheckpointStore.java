package dev.shoal.driver.run;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.CheckpointConfig;
import dev.shoal.driver.train.Metrics;
import dev.shoal.driver.train.SyncState;
import dev.shoal.driver.train.TrainingState;
import dev.shoal.kernel.Checksum;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A run's checkpoints, in a folder on any Hadoop file system (local, HDFS, S3A). Each checkpoint is one file,
 * {@code checkpoint-e<epochs done>-r<rounds done>.shoal}, written under a temporary name and renamed into place,
 * so a checkpoint either exists whole or not at all; the newest {@code keep} are kept.
 *
 * <pre>
 * size  field
 *    8  magic "SHOALCKP"
 *    4  format version (currently 2)
 *    4  length H of the header, then H bytes of JSON: position, the sync strategy and its epoch sums,
 *       early-stopping epoch, the length of metrics.jsonl when the checkpoint was taken, and the finished
 *       epochs' metrics
 *  4+n  the model ({@link SnapshotCodec} bytes, themselves checksummed)
 *  4+n  the best model kept by early stopping (n = 0: none)
 *    4  number R of the strategy's vectors (gradient sharing: residuals by rank; federated: the server's
 *       velocity), then R times: 4-byte length L (-1 or 0: none) and L floats
 *    4  CRC-32C of every byte before it
 * </pre>
 * Integers are big-endian. A file that fails any check is reported and the one before it is used. Version 1
 * files (no strategy in the header; R = -1 meant averaging) are still read.
 */
public final class CheckpointStore {
    static final int VERSION = 2;
    private static final byte[] MAGIC = "SHOALCKP".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern NAME = Pattern.compile("checkpoint-e(\\d+)-r(\\d+)\\.shoal");
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private final HadoopFolder folder;
    private final Path dir;
    private final int keep;

    public CheckpointStore(String dir, int keep) {
        this.folder = new HadoopFolder(dir);
        this.dir = folder.path();
        this.keep = keep;
    }

    /** The checkpoints of the run in {@code runDir}: {@code checkpoint.dir/<run id>}, or the run's own folder. */
    public static CheckpointStore forRun(CheckpointConfig config, java.nio.file.Path runDir) {
        String location = config.dir().isEmpty()
                ? runDir.toAbsolutePath().resolve("checkpoints").toUri().toString()
                : HadoopFolder.join(config.dir(), runDir.getFileName().toString());
        return new CheckpointStore(location, config.keep());
    }

    /** Where the checkpoints are, as a URI. */
    public String location() {
        return dir.toString();
    }

    /** A checkpoint read back: the state, the length metrics.jsonl had, and the file's name. */
    public record Saved(TrainingState state, long metricsBytes, String file) {
    }

    /** Writes {@code state} as the newest checkpoint, then deletes all but the newest {@code keep}. */
    public void save(TrainingState state, long metricsBytes) {
        String name = String.format("checkpoint-e%04d-r%05d.shoal", state.epoch(), state.round());
        byte[] bytes = encode(state, metricsBytes);
        // A file of the same name is replaced: the same position again, after a resume that went further back.
        try (FileSystem fs = folder.open()) {
            folder.writeAtomically(fs, name, out -> out.write(bytes));
            prune(fs);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + new Path(dir, name) + ": "
                    + HadoopFolder.reason(e) + "; the checkpoints before it are kept", e);
        }
    }

    /**
     * The newest checkpoint that reads back whole; each newer one that does not is reported to {@code warnings}
     * and skipped. Empty when there is none.
     */
    public Optional<Saved> newest(Consumer<String> warnings) {
        try (FileSystem fs = folder.open()) {
            List<Path> files = checkpoints(fs);
            for (int i = files.size() - 1; i >= 0; i--) {
                Path file = files.get(i);
                try {
                    return Optional.of(decode(read(fs, file), file.getName()));
                } catch (CorruptCheckpointException | IOException e) {
                    warnings.accept("checkpoint " + file + " cannot be used (" + e.getMessage() + "); "
                            + (i > 0 ? "trying the one before it" : "there is no older one"));
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The checkpoint files, oldest first. */
    public List<String> names() {
        try (FileSystem fs = folder.open()) {
            return checkpoints(fs).stream().map(Path::getName).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + dir + ": " + e.getMessage(), e);
        }
    }

    private List<Path> checkpoints(FileSystem fs) throws IOException {
        return checkpoints(fs.exists(dir) ? fs.listStatus(dir) : new FileStatus[0]);
    }

    /** The checkpoint files among {@code listing}, oldest first. */
    private static List<Path> checkpoints(FileStatus[] listing) {
        List<Path> files = new ArrayList<>();
        for (FileStatus status : listing) {
            if (status.isFile() && NAME.matcher(status.getPath().getName()).matches()) {
                files.add(status.getPath());
            }
        }
        files.sort(Comparator.comparingLong(CheckpointStore::position));
        return files;
    }

    private static long position(Path file) {
        Matcher m = NAME.matcher(file.getName());
        if (!m.matches()) {
            throw new IllegalArgumentException(file.toString());
        }
        return Long.parseLong(m.group(1)) * 1_000_000_000L + Long.parseLong(m.group(2));
    }

    /** Deletes all but the newest {@code keep} checkpoints, and temporary files a crash left behind. */
    private void prune(FileSystem fs) throws IOException {
        FileStatus[] listing = fs.listStatus(dir);
        List<Path> files = checkpoints(listing);
        for (Path old : files.subList(0, Math.max(0, files.size() - keep))) {
            fs.delete(old, false);
        }
        for (FileStatus status : listing) {
            if (HadoopFolder.isTemporary(status.getPath().getName())) {
                fs.delete(status.getPath(), false);
            }
        }
    }

    private static byte[] read(FileSystem fs, Path file) throws IOException {
        long length = fs.getFileStatus(file).getLen();
        if (length > Integer.MAX_VALUE - 8) {
            throw new IOException("file of " + length + " bytes is too large to be a checkpoint");
        }
        byte[] bytes = new byte[(int) length];
        try (FSDataInputStream in = fs.open(file)) {
            in.readFully(0, bytes);
        }
        return bytes;
    }

    static byte[] encode(TrainingState state, long metricsBytes) {
        ObjectNode header = JSON.createObjectNode();
        header.put("epoch", state.epoch());
        header.put("strategy", strategyName(state.sync()));
        if (state.sync() instanceof SyncState.Averaging a) {
            header.put("round", a.round());
            header.put("epochExamples", a.epochExamples());
            header.put("epochLossSum", a.epochLossSum());
        }
        header.put("bestEpoch", state.bestEpoch());
        header.put("metricsBytes", metricsBytes);
        header.set("history", JSON.valueToTree(state.history()));
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.write(MAGIC);
            out.writeInt(VERSION);
            writeBlock(out, JSON.writeValueAsBytes(header));
            writeBlock(out, SnapshotCodec.encode(state.model()));
            writeBlock(out, state.best().map(SnapshotCodec::encode).orElse(new byte[0]));
            List<float[]> vectors = vectors(state.sync());
            out.writeInt(vectors.size());
            for (float[] r : vectors) {
                out.writeInt(r.length);
                ByteBuffer floats = ByteBuffer.allocate(Float.BYTES * r.length);
                floats.asFloatBuffer().put(r);
                out.write(floats.array());
            }
            out.writeInt(Checksum.crc32c(bytes.toByteArray(), bytes.size()));
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory
        }
    }

    static Saved decode(byte[] bytes, String file) {
        if (bytes.length < MAGIC.length + 3 * Integer.BYTES) {
            throw new CorruptCheckpointException("only " + bytes.length + " bytes long");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        byte[] magic = new byte[MAGIC.length];
        in.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new CorruptCheckpointException("not a Shoal checkpoint: it starts with '"
                    + new String(magic, StandardCharsets.ISO_8859_1) + "'");
        }
        int version = in.getInt();
        if (version != VERSION && version != 1) {
            throw new CorruptCheckpointException("format version " + version + "; this build reads 1 to " + VERSION);
        }
        int stored = ByteBuffer.wrap(bytes, bytes.length - Integer.BYTES, Integer.BYTES).getInt();
        int actual = Checksum.crc32c(bytes, bytes.length - Integer.BYTES);
        if (stored != actual) {
            throw new CorruptCheckpointException(String.format(
                    "checksum mismatch: stored %08x, computed %08x (truncated or damaged)", stored, actual));
        }
        try {
            JsonNode header = JSON.readTree(block(in));
            ModelSnapshot model = SnapshotCodec.decode(block(in));
            byte[] bestBytes = block(in);
            Optional<ModelSnapshot> best = bestBytes.length == 0 ? Optional.empty()
                    : Optional.of(SnapshotCodec.decode(bestBytes));
            int count = in.getInt();
            List<float[]> vectors = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                float[] v = new float[Math.max(0, in.getInt())]; // -1 in version 1: a worker without a residual
                in.asFloatBuffer().get(v);
                in.position(in.position() + Float.BYTES * v.length);
                vectors.add(v);
            }
            String strategy = header.has("strategy") ? header.get("strategy").asText()
                    : count < 0 ? "averaging" : "gradient-sharing";
            List<Metrics.Epoch> history = new ArrayList<>();
            for (JsonNode e : header.get("history")) {
                history.add(JSON.treeToValue(e, Metrics.Epoch.class));
            }
            SyncState sync = switch (strategy) {
                case "averaging" -> new SyncState.Averaging(header.get("round").asInt(),
                        header.get("epochExamples").asLong(), header.get("epochLossSum").asDouble());
                case "gradient-sharing" -> new SyncState.Sharing(vectors);
                case "federated" -> vectors.isEmpty() ? SyncState.Federated.NONE
                        : new SyncState.Federated(vectors.get(0));
                default -> throw new CorruptCheckpointException("unknown sync strategy '" + strategy + "'");
            };
            TrainingState state = new TrainingState(header.get("epoch").asInt(), model, sync, history, best,
                    header.get("bestEpoch").asInt());
            return new Saved(state, header.get("metricsBytes").asLong(), file);
        } catch (IOException | RuntimeException e) {
            // The checksum matched, so this is a writer's bug or a foreign file that happens to match: say so.
            throw new CorruptCheckpointException("unreadable contents: " + e.getMessage(), e);
        }
    }

    /** The name of a state's strategy, as {@code sync.strategy} spells it. */
    private static String strategyName(SyncState sync) {
        return sync instanceof SyncState.Averaging ? "averaging"
                : sync instanceof SyncState.Sharing ? "gradient-sharing" : "federated";
    }

    /** The float vectors a state holds beyond its header fields. */
    private static List<float[]> vectors(SyncState sync) {
        if (sync instanceof SyncState.Sharing sharing) {
            return sharing.residuals();
        }
        if (sync instanceof SyncState.Federated federated && federated.velocity().length > 0) {
            return List.of(federated.velocity());
        }
        return List.of();
    }

    private static void writeBlock(DataOutputStream out, byte[] block) throws IOException {
        out.writeInt(block.length);
        out.write(block);
    }

    private static byte[] block(ByteBuffer in) {
        byte[] b = new byte[in.getInt()];
        in.get(b);
        return b;
    }

    /** A checkpoint file failed a check. */
    static final class CorruptCheckpointException extends RuntimeException {
        CorruptCheckpointException(String message) {
            super(message);
        }

        CorruptCheckpointException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
