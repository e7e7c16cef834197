package dev.shoal.driver.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Value;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.tensorboard.EventWriter;
import dev.shoal.driver.train.Metrics;
import dev.shoal.driver.train.TrainingState;
import dev.shoal.kernel.EvalResult;
import dev.shoal.tensorboard.proto.DataType;
import dev.shoal.tensorboard.proto.HParamsPluginData;
import dev.shoal.tensorboard.proto.SessionEndInfo;
import dev.shoal.tensorboard.proto.SessionStartInfo;
import dev.shoal.tensorboard.proto.Status;
import dev.shoal.tensorboard.proto.Summary;
import dev.shoal.tensorboard.proto.TensorProto;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * A run's TensorBoard event files, in {@code runs/<id>/tensorboard/}:
 * <ul>
 * <li>{@code train/}: per averaging round or gradient-sharing step the loss and where the time went (and the bytes
 * sent, for sharing); per epoch the training loss, examples/s, learning rate, memory, and per layer histograms of
 * the parameters and of the epoch's update with the update:parameter ratio (log10 of mean |update| over mean
 * |parameter|, DL4J's first health check of a network); a GAN's samples each epoch;</li>
 * <li>{@code test/}: per epoch the test loss and accuracy; at the end the confusion matrix and prediction grid;</li>
 * <li>the folder itself: the resolved plan as text, and the run's hyperparameters (model, optimizer, training and
 * sync keys) for TensorBoard's HParams tab, which then compares runs by their final metrics.</li>
 * </ul>
 * The x axis of every chart is rounds (or sharing steps) since the start; epoch values sit at the epoch's last
 * round. A resumed run writes new files that restart TensorBoard's view at the checkpoint's round.
 */
final class TensorBoardLog implements Consumer<Metrics>, AutoCloseable {
    static final String FOLDER = "tensorboard";
    private static final String HPARAMS = "hparams";
    /** The plan sections that are hyperparameters; paths, output and Spark settings are not. */
    private static final Set<String> HPARAM_SECTIONS = Set.of("model", "optimizer", "training", "sync");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final Path folder;
    private final TrainingPlan plan;
    private final PrintStream out;
    private final EventWriter session;
    private final EventWriter train;
    private final EventWriter test;
    /** Rounds or steps in an epoch; 0 until the first record says. */
    private int perEpoch;
    /** The resumed checkpoint, until the restart is written (it needs {@link #perEpoch}). */
    private Optional<TrainingState> restart;
    private final List<Metrics.Step> steps = new ArrayList<>();
    /** Each layer's parameters at the end of the previous epoch (or at the start), by DL4J's parameter key. */
    private Map<String, float[]> previous;
    private boolean closed;

    private TensorBoardLog(Path runDir, TrainingPlan plan, PrintStream out, Optional<TrainingState> restart,
                           MultiLayerNetwork start) {
        this.folder = runDir.resolve(FOLDER);
        this.plan = plan;
        this.out = out;
        this.restart = restart;
        this.session = EventWriter.create(folder);
        this.train = EventWriter.create(folder.resolve("train"));
        this.test = EventWriter.create(folder.resolve("test"));
        this.previous = parameters(start);
    }

    /**
     * Opens the event files of a run that starts, or resumes from {@code resumed}, with {@code start} (the network
     * holding the starting parameters), and writes the plan and the hyperparameters.
     */
    static TensorBoardLog open(Path runDir, TrainingPlan plan, String planYaml, Optional<TrainingState> resumed,
                               MultiLayerNetwork start, PrintStream out) {
        TensorBoardLog log = new TensorBoardLog(runDir, plan, out, resumed, start);
        log.session.write(0, EventWriter.text("plan", "```yaml\n" + planYaml + "```"),
                hparams(SessionStartInfo.newBuilder().putAllHparams(hyperparameters(planYaml))
                        .setGroupName(runDir.getFileName().toString())
                        .setStartTimeSecs(Instant.now().getEpochSecond()).build()));
        log.session.flush();
        return log;
    }

    /** The plan's hyperparameters as TensorBoard values, by dotted key ("optimizer.learning-rate"). */
    static Map<String, Value> hyperparameters(String planYaml) {
        Map<String, Value> values = new LinkedHashMap<>();
        try {
            JsonNode root = YAML.readTree(planYaml);
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> section = it.next();
                if (HPARAM_SECTIONS.contains(section.getKey())) {
                    flatten(section.getKey(), section.getValue(), values);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the plan: " + e.getMessage(), e);
        }
        return values;
    }

    private static void flatten(String key, JsonNode node, Map<String, Value> into) {
        if (node.isObject()) {
            node.fields().forEachRemaining(f -> flatten(key + "." + f.getKey(), f.getValue(), into));
        } else if (node.isNumber()) {
            into.put(key, Value.newBuilder().setNumberValue(node.asDouble()).build());
        } else if (node.isBoolean()) {
            into.put(key, Value.newBuilder().setBoolValue(node.asBoolean()).build());
        } else {
            into.put(key, Value.newBuilder().setStringValue(node.isTextual() ? node.asText() : node.toString())
                    .build());
        }
    }

    private static Summary.Value hparams(SessionStartInfo start) {
        return hparams("_hparams_/session_start_info",
                HParamsPluginData.newBuilder().setSessionStartInfo(start).build());
    }

    private static Summary.Value hparams(String tag, HParamsPluginData data) {
        // The hparams plugin reads its metadata's content; the tensor only marks the value as one.
        return EventWriter.pluginTensor(tag, HPARAMS, data.toByteString(),
                TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).addFloatVal(0).build());
    }

    @Override
    public void accept(Metrics m) {
        if (m instanceof Metrics.Round r) {
            known(r.rounds());
            train.write(step(r.epoch(), r.round()), EventWriter.scalar("loss", r.loss()),
                    EventWriter.scalar("examples_per_second", r.examples() / (r.totalMs() / 1e3)),
                    EventWriter.scalar("round_ms/broadcast", r.broadcastMs()),
                    EventWriter.scalar("round_ms/compute", r.computeMs()),
                    EventWriter.scalar("round_ms/aggregate", r.aggregateMs()),
                    EventWriter.scalar("round_ms/idle", r.idleMs()),
                    EventWriter.scalar("round_ms/total", r.totalMs()));
            train.flush();
        } else if (m instanceof Metrics.Step s) {
            steps.add(s);
        } else if (m instanceof Metrics.Stage stage) {
            // A stage's steps arrive before the stage, which says how many an epoch has.
            known(stage.steps());
            for (Metrics.Step s : steps) {
                train.write(step(s.epoch(), s.step()), EventWriter.scalar("loss", s.loss()),
                        EventWriter.scalar("step_ms/compute", s.computeMs()),
                        EventWriter.scalar("step_ms/encode", s.encodeMs()),
                        EventWriter.scalar("step_ms/exchange", s.exchangeMs()),
                        EventWriter.scalar("step_ms/apply", s.applyMs()),
                        EventWriter.scalar("sharing/bytes_sent", s.bytesSent()),
                        EventWriter.scalar("sharing/sent_fraction", s.sentFraction()),
                        EventWriter.scalar("sharing/threshold", s.threshold()));
            }
            steps.clear();
            train.flush();
        } else if (m instanceof Metrics.Epoch e) {
            long step = step(e.epoch() + 1, 0);
            train.write(step, EventWriter.scalar("epoch_loss", e.trainLoss()),
                    EventWriter.scalar("epoch_examples_per_second", e.examplesPerSecond()),
                    EventWriter.scalar("memory_mb/executor_rss", e.executorMemory().rssMb()),
                    EventWriter.scalar("memory_mb/driver_rss", e.driverMemory().rssMb()));
            test.write(step, EventWriter.scalar("loss", e.testLoss()));
            if (!Double.isNaN(e.testAccuracy())) {
                test.write(step, EventWriter.scalar("accuracy", e.testAccuracy()));
            }
            test.flush();
        }
    }

    /**
     * After epoch {@code epoch} (1-based), whose model {@code net} holds: per layer the histograms of its
     * parameters and of their change over the epoch, the update ratio, the learning rate, and {@code samples}.
     */
    void epochEnd(int epoch, MultiLayerNetwork net, Optional<BufferedImage> samples) {
        long step = step(epoch + 1, 0);
        Map<String, float[]> now = parameters(net);
        List<Summary.Value> values = new ArrayList<>();
        now.forEach((key, params) -> {
            float[] before = previous.get(key);
            float[] update = new float[params.length];
            double updateSum = 0;
            double paramSum = 0;
            for (int i = 0; i < params.length; i++) {
                update[i] = params[i] - before[i];
                updateSum += Math.abs(update[i]);
                paramSum += Math.abs(params[i]);
            }
            values.add(EventWriter.histogram("parameters/" + key, params));
            values.add(EventWriter.histogram("updates/" + key, update));
            double ratio = Math.log10(updateSum / paramSum);
            if (Double.isFinite(ratio)) {
                // A frozen layer has no update, and no ratio.
                values.add(EventWriter.scalar("update_ratio/" + key, ratio));
            }
        });
        for (int layer = 0; layer < net.getnLayers(); layer++) {
            Double rate = net.getLearningRate(layer);
            if (rate != null) {
                values.add(EventWriter.scalar("learning_rate", rate));
                break;
            }
        }
        samples.ifPresent(grid -> values.add(EventWriter.image("samples", grid)));
        train.write(step, values.toArray(Summary.Value[]::new));
        train.flush();
        previous = now;
        copyTo(plan.output().copyTo());
    }

    /**
     * The end of a run that trained for {@code epochs} epochs: the confusion matrix of {@code evaluation} and the
     * prediction grid (when there is one), and the session's status.
     */
    void finish(int epochs, Optional<EvalResult> evaluation, Optional<BufferedImage> predictions) {
        long step = step(epochs + 1, 0);
        evaluation.ifPresent(e -> test.write(step, EventWriter.image("confusion_matrix",
                confusionImage(e, plan.data().classNames()))));
        predictions.ifPresent(grid -> test.write(step, EventWriter.image("predictions", grid)));
        end(Status.STATUS_SUCCESS);
    }

    /** Marks the run as failed; what was written so far stays. */
    void failed() {
        end(Status.STATUS_FAILURE);
    }

    private void end(Status status) {
        if (closed) {
            return;
        }
        session.write(0, hparams("_hparams_/session_end_info", HParamsPluginData.newBuilder()
                .setSessionEndInfo(SessionEndInfo.newBuilder().setStatus(status)
                        .setEndTimeSecs(Instant.now().getEpochSecond())).build()));
        close();
        copyTo(plan.output().copyTo());
    }

    private void known(int roundsPerEpoch) {
        perEpoch = roundsPerEpoch;
        restart.ifPresent(state -> {
            long from = step(state.epoch() + 1, state.round() + 1);
            train.restartAt(from);
            test.restartAt(from);
        });
        restart = Optional.empty();
    }

    /** Round {@code round} (1-based; 0 for "before the first") of epoch {@code epoch} (1-based), counted from the
     * start of the run. */
    private long step(int epoch, int round) {
        return (long) (epoch - 1) * perEpoch + round;
    }

    private static Map<String, float[]> parameters(MultiLayerNetwork net) {
        Map<String, float[]> params = new LinkedHashMap<>();
        net.paramTable().forEach((key, view) -> params.put(key, view.dup().data().asFloat()));
        return params;
    }

    /** The folder's files, copied whole to {@code <uri>/<run id>/tensorboard/}; a failure is only a warning. */
    private void copyTo(String uri) {
        if (uri.isEmpty()) {
            return;
        }
        String runId = folder.getParent().getFileName().toString();
        try (Stream<Path> files = Files.walk(folder)) {
            List<Path> events = files.filter(Files::isRegularFile).toList();
            HadoopFolder target = new HadoopFolder(HadoopFolder.join(HadoopFolder.join(uri, runId), FOLDER));
            try (FileSystem fs = target.open()) {
                for (Path file : events) {
                    Path relative = folder.relativize(file);
                    HadoopFolder sub = relative.getParent() == null ? target
                            : new HadoopFolder(HadoopFolder.join(target.path().toString(),
                            relative.getParent().toString()));
                    sub.writeAtomically(fs, file.getFileName().toString(), o -> Files.copy(file, o));
                }
            }
        } catch (IOException | RuntimeException e) {
            out.println("warning: TensorBoard files not copied to " + uri + " (output.copy-to): " + e.getMessage());
        }
    }

    /** Rows true classes, columns predictions; each cell shaded by its share of the row, its count written in. */
    static BufferedImage confusionImage(EvalResult evaluation, List<String> names) {
        int n = evaluation.numClasses();
        int cell = 44;
        int label = 96;
        BufferedImage image = new BufferedImage(label + n * cell + 8, label + n * cell + 8,
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.setColor(Color.BLACK);
        g.drawString("true \u2193  predicted \u2192", 4, 14);
        for (int c = 0; c < n; c++) {
            String name = clip(PredictionGrid.name(names, c));
            g.drawString(name, 4, label + c * cell + cell / 2 + 4);
            Graphics2D rotated = (Graphics2D) g.create();
            rotated.rotate(-Math.PI / 2, label + c * cell + cell / 2.0 + 4, label - 4);
            rotated.drawString(name, label + c * cell + cell / 2 + 4, label - 4);
            rotated.dispose();
        }
        for (int t = 0; t < n; t++) {
            long total = 0;
            for (int p = 0; p < n; p++) {
                total += evaluation.count(t, p);
            }
            for (int p = 0; p < n; p++) {
                long count = evaluation.count(t, p);
                float share = total == 0 ? 0 : (float) Math.sqrt((double) count / total);
                Color hue = t == p ? new Color(40, 120, 200) : new Color(210, 50, 50);
                g.setColor(blend(hue, share));
                int x = label + p * cell;
                int y = label + t * cell;
                g.fillRect(x, y, cell - 1, cell - 1);
                g.setColor(share > 0.6f ? Color.WHITE : Color.BLACK);
                String text = Long.toString(count);
                g.drawString(text, x + (cell - g.getFontMetrics().stringWidth(text)) / 2, y + cell / 2 + 4);
            }
        }
        g.dispose();
        return image;
    }

    private static Color blend(Color color, float share) {
        return new Color(Math.round(255 + (color.getRed() - 255) * share),
                Math.round(255 + (color.getGreen() - 255) * share), Math.round(255 + (color.getBlue() - 255) * share));
    }

    private static String clip(String name) {
        return name.length() <= 14 ? name : name.substring(0, 13) + "\u2026";
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        session.close();
        train.close();
        test.close();
    }
}
