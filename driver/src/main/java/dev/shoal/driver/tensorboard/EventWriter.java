package dev.shoal.driver.tensorboard;

import com.google.protobuf.ByteString;
import dev.shoal.tensorboard.proto.DataClass;
import dev.shoal.tensorboard.proto.DataType;
import dev.shoal.tensorboard.proto.Event;
import dev.shoal.tensorboard.proto.HistogramProto;
import dev.shoal.tensorboard.proto.SessionLog;
import dev.shoal.tensorboard.proto.SourceMetadata;
import dev.shoal.tensorboard.proto.Summary;
import dev.shoal.tensorboard.proto.SummaryMetadata;
import dev.shoal.tensorboard.proto.TensorProto;
import java.awt.image.BufferedImage;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import javax.imageio.ImageIO;

/**
 * One TensorBoard event file, {@code events.out.tfevents.<seconds>.<host>.shoal}, in a folder TensorBoard shows
 * as one run. Every call writes whole records; {@link #flush} puts them on disk, so a TensorBoard reading the
 * folder follows along.
 */
public final class EventWriter implements AutoCloseable {
    /** Equal-width buckets of a histogram: enough to show a shape, few enough to stay small. */
    static final int BUCKETS = 30;
    private static final String FILE_VERSION = "brain.Event:2";

    private final Path file;
    private final OutputStream out;

    private EventWriter(Path file) throws IOException {
        this.file = file;
        this.out = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE));
    }

    /**
     * Starts a new event file in {@code folder} (created if needed), beginning with the file-version record
     * TensorBoard expects first.
     */
    public static EventWriter create(Path folder) {
        Instant now = Instant.now();
        try {
            Files.createDirectories(folder);
            Path file = folder.resolve("events.out.tfevents." + now.getEpochSecond() + "." + host() + ".shoal");
            for (int n = 1; Files.exists(file); n++) {
                // A resumed run may start within the second its previous file was made.
                file = folder.resolve("events.out.tfevents." + now.getEpochSecond() + "." + host() + ".shoal." + n);
            }
            EventWriter writer = new EventWriter(file);
            writer.write(Event.newBuilder().setWallTime(seconds(now)).setFileVersion(FILE_VERSION)
                    .setSourceMetadata(SourceMetadata.newBuilder().setWriter("shoal")).build());
            return writer;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a TensorBoard event file in " + folder + ": "
                    + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    public void write(Event event) {
        try {
            EventRecords.write(out, event.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code values} as one summary at {@code step}. */
    public void write(long step, Summary.Value... values) {
        write(Event.newBuilder().setWallTime(seconds(Instant.now())).setStep(step)
                .setSummary(Summary.newBuilder().addAllValue(java.util.List.of(values))).build());
    }

    /**
     * Tells TensorBoard that the run starts again at {@code step}: what earlier files hold from that step on was
     * written by a run that stopped, and is written again.
     */
    public void restartAt(long step) {
        write(Event.newBuilder().setWallTime(seconds(Instant.now())).setStep(step)
                .setSessionLog(SessionLog.newBuilder().setStatus(SessionLog.SessionStatus.START)).build());
    }

    public static Summary.Value scalar(String tag, double value) {
        return Summary.Value.newBuilder().setTag(tag).setSimpleValue((float) value).build();
    }

    /** {@code values} in {@link #BUCKETS} equal-width buckets between their smallest and largest. */
    public static Summary.Value histogram(String tag, float[] values) {
        return Summary.Value.newBuilder().setTag(tag).setHisto(histogram(values)).build();
    }

    static HistogramProto histogram(float[] values) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        double sumSquares = 0;
        for (float v : values) {
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
            sumSquares += (double) v * v;
        }
        HistogramProto.Builder h = HistogramProto.newBuilder().setNum(values.length).setSum(sum)
                .setSumSquares(sumSquares);
        if (values.length == 0) {
            return h.build();
        }
        h.setMin(min).setMax(max);
        int buckets = max > min ? BUCKETS : 1;
        double width = (max - min) / buckets;
        long[] counts = new long[buckets];
        for (float v : values) {
            counts[Math.min(buckets - 1, (int) ((v - min) / width))]++;
        }
        for (int b = 0; b < buckets; b++) {
            // Bucket b ends at its limit; the last one's limit is the maximum itself.
            h.addBucketLimit(b == buckets - 1 ? max : min + (b + 1) * width).addBucket(counts[b]);
        }
        return h.build();
    }

    /** An image, PNG-encoded. */
    public static Summary.Value image(String tag, BufferedImage image) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", png);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int channels = image.getColorModel().getNumComponents();
        return Summary.Value.newBuilder().setTag(tag).setImage(Summary.Image.newBuilder()
                .setHeight(image.getHeight()).setWidth(image.getWidth()).setColorspace(channels)
                .setEncodedImageString(ByteString.copyFrom(png.toByteArray()))).build();
    }

    /** Markdown text, shown by TensorBoard's text plugin. */
    public static Summary.Value text(String tag, String markdown) {
        return pluginTensor(tag, "text", ByteString.EMPTY, TensorProto.newBuilder().setDtype(DataType.DT_STRING)
                .addStringVal(ByteString.copyFrom(markdown, StandardCharsets.UTF_8)).build());
    }

    /** A value that a plugin reads from its metadata's {@code content} and a tensor. */
    public static Summary.Value pluginTensor(String tag, String plugin, ByteString content, TensorProto tensor) {
        return Summary.Value.newBuilder().setTag(tag).setMetadata(SummaryMetadata.newBuilder()
                .setPluginData(SummaryMetadata.PluginData.newBuilder().setPluginName(plugin).setContent(content))
                .setDataClass(DataClass.DATA_CLASS_TENSOR)).setTensor(tensor).build();
    }

    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }

    private static double seconds(Instant t) {
        return t.getEpochSecond() + t.getNano() / 1e9;
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
