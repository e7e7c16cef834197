package dev.shoal.driver.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.Inference;
import dev.shoal.kernel.InputShape;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.StackedXYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.DefaultTableXYDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@code report.html}: a run's figures as one self-contained page — charts drawn by JFreeChart as PNG images
 * inlined in the page, so it opens anywhere without a network: loss, test accuracy, throughput and memory per
 * epoch, the time of each averaging round by part, the confusion matrix as a heat map with each class's
 * precision and recall, the first test images with their predicted and true classes (IDX image classifiers),
 * the GAN's samples, the plan and the provenance. Several runs in one page overlay their epoch curves.
 */
public final class RunReport {
    public static final String FILE = "report.html";
    public static final String EVALUATION = "evaluation.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WIDTH = 760;
    private static final int HEIGHT = 300;
    private static final Color GRID = new Color(0xdd, 0xdd, 0xdd);

    private RunReport() {
    }

    /** One run's files, read. */
    private record Run(String name, Path dir, TrainingPlan plan, List<JsonNode> records, String planYaml,
                       String provenance, Optional<JsonNode> evaluation) {

        List<JsonNode> ofType(String type) {
            return records.stream().filter(r -> type.equals(r.path("type").asText())).toList();
        }
    }

    /** Writes the page of the runs in {@code dirs} (each planned by the plan at the same index) to {@code page}. */
    public static void write(List<Path> dirs, List<TrainingPlan> plans, Path page) {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < dirs.size(); i++) {
            runs.add(read(dirs.get(i), plans.get(i)));
        }
        String html = html(runs);
        RunDirectory.writeAtomically(page, p -> Files.writeString(p, html));
    }

    private static Run read(Path dir, TrainingPlan plan) {
        try {
            List<JsonNode> records = RunDirectory.readMetrics(dir);
            Path provenance = dir.resolve(RunDirectory.PROVENANCE);
            Path evaluation = dir.resolve(EVALUATION);
            return new Run(dir.getFileName().toString(), dir, plan, records,
                    Files.readString(dir.resolve(RunDirectory.PLAN)),
                    Files.exists(provenance) ? Files.readString(provenance) : "(no provenance.json: unfinished)",
                    Files.exists(evaluation) ? Optional.of(JSON.readTree(evaluation.toFile())) : Optional.empty());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read run " + dir + ": " + e.getMessage(), e);
        }
    }

    static String html(List<Run> runs) {
        StringBuilder page = new StringBuilder();
        String title = "Shoal: " + String.join(", ", runs.stream().map(Run::name).toList());
        page.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(escape(title))
                .append("</title>\n<style>body{font-family:sans-serif;margin:24px;max-width:1100px;color:#222}"
                        + "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}"
                        + "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;"
                        + "padding:3px 7px;text-align:right}pre{background:#f6f6f6;padding:10px;font-size:12px;"
                        + "overflow:auto}img{display:block;margin:8px 0}</style></head><body>\n");
        page.append("<h1>").append(escape(title)).append("</h1>\n");
        // Federated runs evaluate after rounds, not epochs: the page says so when all its runs are federated.
        String unit = runs.stream().allMatch(r -> r.plan().sync().strategy() == SyncStrategy.FEDERATED)
                ? "round" : "epoch";
        page.append(summary(runs, unit));
        page.append("<h2>Per ").append(unit).append("</h2>\n");
        page.append(chart("loss", epochChart("Loss per " + unit, unit, "loss", runs, true)));
        if (runs.stream().anyMatch(r -> r.ofType("epoch").stream()
                .anyMatch(e -> Double.isFinite(e.path("testAccuracy").asDouble(Double.NaN))))) {
            page.append(chart("accuracy", line("Test accuracy per " + unit, unit, "accuracy", runs,
                    "testAccuracy")));
        }
        page.append(chart("throughput", line("Training examples/s per " + unit, unit, "examples/s", runs,
                "examplesPerSecond")));
        page.append(chart("memory", memory(runs, unit)));
        for (Run run : runs) {
            page.append("<h2>").append(escape(run.name())).append("</h2>\n");
            if (run.plan().sync().strategy() == SyncStrategy.FEDERATED) {
                page.append(roundsToAccuracy(run));
            } else if (!run.ofType("round").isEmpty()) {
                page.append(chart("rounds", rounds(run)));
            }
            run.evaluation().ifPresent(e -> page.append(confusion(e, run.plan().data().classNames())));
            grid(run).ifPresent(png -> page.append(image("predictions", "the first test images with their "
                    + "predicted and true classes (wrong ones framed red)", png)));
            Path samples = run.dir().resolve(RunDirectory.SAMPLES);
            if (Files.exists(samples)) {
                page.append(image("samples", "images the generator made", read(samples)));
            }
            page.append("<h3>plan.yaml</h3><pre>").append(escape(run.planYaml())).append("</pre>\n");
            page.append("<h3>provenance.json</h3><pre>").append(escape(run.provenance())).append("</pre>\n");
        }
        return page.append("</body></html>\n").toString();
    }

    private static String summary(List<Run> runs, String unit) {
        StringBuilder table = new StringBuilder("<table class=\"summary\"><tr><th>run</th><th>" + unit + "s</th>"
                + "<th>last train loss</th><th>last test loss</th><th>last test accuracy</th><th>examples/s "
                + "after " + unit + " 1</th></tr>\n");
        for (Run run : runs) {
            List<JsonNode> epochs = run.ofType("epoch");
            JsonNode last = epochs.isEmpty() ? JSON.createObjectNode() : epochs.get(epochs.size() - 1);
            double rate = epochs.stream().skip(epochs.size() > 1 ? 1 : 0)
                    .mapToDouble(e -> e.path("examplesPerSecond").asDouble()).average().orElse(Double.NaN);
            double accuracy = last.path("testAccuracy").asDouble(Double.NaN);
            table.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%.4f</td><td>%.4f</td><td>%s</td>"
                            + "<td>%,.0f</td></tr>%n", escape(run.name()), epochs.size(),
                    last.path("trainLoss").asDouble(Double.NaN), last.path("testLoss").asDouble(Double.NaN),
                    Double.isFinite(accuracy) ? String.format(Locale.ROOT, "%.2f%%", 100 * accuracy) : "–", rate));
        }
        return table.append("</table>\n").toString();
    }

    /** Accuracies a federated run's table reports the first round reaching. */
    static final double[] TARGETS = {0.90, 0.95, 0.97, 0.98, 0.99};

    /**
     * A federated run's rounds to each test accuracy of {@link #TARGETS} (the yardstick of the FedAvg paper),
     * and its mean wall time per round.
     */
    private static String roundsToAccuracy(Run run) {
        List<JsonNode> rounds = run.ofType("epoch");
        StringBuilder table = new StringBuilder("<h3>Rounds to test accuracy</h3><table class=\"targets\"><tr>");
        for (double target : TARGETS) {
            table.append(String.format(Locale.ROOT, "<th>%.0f%%</th>", 100 * target));
        }
        table.append("<th>seconds per round</th></tr>\n<tr>");
        for (double target : TARGETS) {
            table.append("<td>").append(firstReaching(rounds.stream()
                    .mapToDouble(e -> e.path("testAccuracy").asDouble(Double.NaN)).toArray(), target)
                    .map(String::valueOf).orElse("not in " + rounds.size())).append("</td>");
        }
        double seconds = rounds.stream().mapToDouble(e -> e.path("trainSeconds").asDouble()
                + e.path("evalSeconds").asDouble()).average().orElse(Double.NaN);
        return table.append(String.format(Locale.ROOT, "<td>%.1f</td></tr></table>%n", seconds)).toString();
    }

    /** The 1-based first round whose accuracy reaches {@code target}. */
    public static Optional<Integer> firstReaching(double[] accuracies, double target) {
        for (int i = 0; i < accuracies.length; i++) {
            if (accuracies[i] >= target) {
                return Optional.of(i + 1);
            }
        }
        return Optional.empty();
    }

    private static JFreeChart epochChart(String title, String unit, String axis, List<Run> runs,
                                         boolean trainToo) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Run run : runs) {
            String prefix = runs.size() > 1 ? run.name() + " " : "";
            if (trainToo) {
                data.addSeries(series(prefix + "train", run, e -> e.path("trainLoss").asDouble()));
            }
            data.addSeries(series(prefix + "test", run, e -> e.path("testLoss").asDouble()));
        }
        return ChartFactory.createXYLineChart(title, unit, axis, data, PlotOrientation.VERTICAL, true, false,
                false);
    }

    private static JFreeChart line(String title, String unit, String axis, List<Run> runs, String field) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Run run : runs) {
            data.addSeries(series(run.name(), run, e -> e.path(field).asDouble(Double.NaN)));
        }
        return ChartFactory.createXYLineChart(title, unit, axis, data, PlotOrientation.VERTICAL, true, false,
                false);
    }

    private static JFreeChart memory(List<Run> runs, String unit) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Run run : runs) {
            String prefix = runs.size() > 1 ? run.name() + " " : "";
            data.addSeries(series(prefix + "executor RSS", run, e -> e.path("executorMemory").path("rssMb")
                    .asDouble(Double.NaN)));
            data.addSeries(series(prefix + "driver RSS", run, e -> e.path("driverMemory").path("rssMb")
                    .asDouble(Double.NaN)));
        }
        return ChartFactory.createXYLineChart("Resident memory per " + unit, unit, "MB", data,
                PlotOrientation.VERTICAL, true, false, false);
    }

    private static XYSeries series(String name, Run run, ToDoubleFunction<JsonNode> value) {
        XYSeries series = new XYSeries(name);
        for (JsonNode e : run.ofType("epoch")) {
            double v = value.applyAsDouble(e);
            if (Double.isFinite(v)) {
                series.add(e.path("epoch").asInt(), v);
            }
        }
        return series;
    }

    /** Each averaging round's milliseconds by part, stacked, rounds numbered through the run. */
    private static JFreeChart rounds(Run run) {
        DefaultTableXYDataset data = new DefaultTableXYDataset();
        String[] parts = {"broadcastMs", "computeMs", "aggregateMs", "idleMs"};
        XYSeries[] series = new XYSeries[parts.length];
        for (int p = 0; p < parts.length; p++) {
            series[p] = new XYSeries(parts[p].replace("Ms", ""), true, false);
        }
        List<JsonNode> rounds = run.ofType("round");
        for (int i = 0; i < rounds.size(); i++) {
            for (int p = 0; p < parts.length; p++) {
                series[p].add(i + 1, rounds.get(i).path(parts[p]).asDouble());
            }
        }
        for (XYSeries s : series) {
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYBarChart("Time of each round by part", "round", false, "ms", data,
                PlotOrientation.VERTICAL, true, false, false);
        ((XYPlot) chart.getPlot()).setRenderer(new StackedXYBarRenderer(0.1));
        return chart;
    }

    /** The confusion matrix as a heat map (each cell shaded by its share of its true class), with each class's
     * precision and recall. */
    private static String confusion(JsonNode evaluation, List<String> names) {
        JsonNode matrix = evaluation.path("confusion");
        int n = matrix.size();
        StringBuilder table = new StringBuilder("<h3>Confusion matrix (rows: true class; columns: predicted)</h3>"
                + "<table class=\"confusion\"><tr><th></th>");
        for (int c = 0; c < n; c++) {
            table.append("<th>").append(escape(PredictionGrid.name(names, c))).append("</th>");
        }
        table.append("<th>recall</th></tr>\n");
        for (int t = 0; t < n; t++) {
            long total = 0;
            for (JsonNode v : matrix.get(t)) {
                total += v.asLong();
            }
            table.append("<tr><th>").append(escape(PredictionGrid.name(names, t))).append("</th>");
            for (int p = 0; p < n; p++) {
                long count = matrix.get(t).get(p).asLong();
                double share = total == 0 ? 0 : (double) count / total;
                Color shade = t == p ? new Color(40, 120, 200) : new Color(210, 50, 50);
                table.append(String.format(Locale.ROOT, "<td class=\"cell\" style=\"background:rgba(%d,%d,%d,%.2f)\">"
                        + "%d</td>", shade.getRed(), shade.getGreen(), shade.getBlue(), Math.sqrt(share), count));
            }
            table.append(String.format(Locale.ROOT, "<td>%.3f</td></tr>%n",
                    evaluation.path("classes").path(t).path("recall").asDouble()));
        }
        table.append("<tr><th>precision</th>");
        for (int p = 0; p < n; p++) {
            table.append(String.format(Locale.ROOT, "<td>%.3f</td>",
                    evaluation.path("classes").path(p).path("precision").asDouble()));
        }
        return table.append("<td></td></tr></table>\n").toString();
    }

    private static Optional<byte[]> grid(Run run) {
        return predictionGrid(run.dir(), run.plan()).map(RunReport::png);
    }

    /**
     * The first 25 test images with the predictions of the run's model in {@code dir}, for classifiers of IDX
     * images.
     */
    static Optional<BufferedImage> predictionGrid(Path dir, TrainingPlan plan) {
        Path model = dir.resolve(RunDirectory.MODEL);
        if (plan.data().format() != DataFormat.IDX || !plan.model().type().target().hasAccuracy()
                || !Files.exists(model)) {
            return Optional.empty();
        }
        IdxFile images = IdxFile.open(plan.data().testImages());
        int n = Math.min(25, images.records());
        int size = images.recordSize();
        float[] pixels = images.readScaled(0, n);
        int[] labels = IdxFile.open(plan.data().testLabels()).readLabels(0, n);
        float[] p = Inference.of(ModelEvaluation.restore(model), size).output(pixels, n);
        int classes = p.length / n;
        int[] predicted = new int[n];
        for (int i = 0; i < n; i++) {
            predicted[i] = Inference.classOf(p, i, classes);
        }
        int[] d = images.dimensions();
        InputShape shape = d.length == 3 ? new InputShape(d[1], d[2], 1) : InputShape.vector(size);
        return Optional.of(PredictionGrid.render(pixels, shape, predicted, labels, plan.data().classNames()));
    }

    private static String chart(String id, JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = (XYPlot) chart.getPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(GRID);
        plot.setRangeGridlinePaint(GRID);
        // Epochs and rounds are whole numbers; curves show their points; a curve's axis fits its values.
        ((NumberAxis) plot.getDomainAxis()).setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        if (plot.getRenderer() instanceof XYLineAndShapeRenderer lines) {
            lines.setDefaultShapesVisible(true);
            ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        }
        return image(id, chart.getTitle().getText(), png(chart.createBufferedImage(WIDTH, HEIGHT)));
    }

    private static String image(String id, String alt, byte[] png) {
        return "<img id=\"" + id + "\" alt=\"" + escape(alt) + "\" src=\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(png) + "\">\n";
    }

    private static byte[] png(BufferedImage image) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
