package dev.shoal.driver.run;

import dev.shoal.driver.data.Alphabet;
import dev.shoal.driver.data.CharDataSource;
import dev.shoal.driver.data.DataSource;
import dev.shoal.driver.data.TextDataSource;
import dev.shoal.driver.data.Vocabulary;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.GateMetric;
import dev.shoal.driver.train.Trainer;
import dev.shoal.driver.train.TrainingData;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A saved model evaluated on a plan's test set, on the executors as training evaluates after every epoch:
 * accuracy, mean loss, per-class precision, recall and F1, and the confusion matrix ({@code shoal evaluate}).
 */
public final class ModelEvaluation {
    private ModelEvaluation() {
    }

    /** One class's figures; precision is NaN when nothing was predicted as the class, recall when it has no examples. */
    public record ClassFigures(int label, long support, long predicted, double precision, double recall,
                               double f1) {
    }

    /**
     * What evaluation.json holds.
     *
     * @param confusion rows are true classes, columns predicted ones; empty for models without classes
     */
    public record Report(String model, String data, long examples, double accuracy, double loss,
                         List<ClassFigures> classes, long[][] confusion) {

        /**
         * The figures a gate can test. Accuracy and macro F1 (the mean F1 of the classes that have examples) only
         * where the model predicts classes: an autoencoder's evaluation has neither.
         */
        public Map<GateMetric, Double> metrics() {
            Map<GateMetric, Double> metrics = new EnumMap<>(GateMetric.class);
            metrics.put(GateMetric.LOSS, loss);
            if (!classes.isEmpty()) {
                metrics.put(GateMetric.ACCURACY, accuracy);
                metrics.put(GateMetric.MACRO_F1, classes.stream().filter(c -> c.support() > 0)
                        .mapToDouble(ClassFigures::f1).average().orElse(Double.NaN));
            }
            return metrics;
        }

        /** The report as a person reads it: the totals, then one line per class. */
        public String table() {
            return table(List.of());
        }

        /** The figures as text, each class named by {@code names} (data.class-names) where it has a name. */
        public String table(List<String> names) {
            StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                    "%,d examples  accuracy %.2f%%  loss %.4f%n", examples, 100 * accuracy, loss));
            if (!classes.isEmpty()) {
                int width = Math.max(5, names.stream().mapToInt(String::length).max().orElse(0));
                String row = "%" + width + "s %9s %9s %9s %9s%n";
                out.append(String.format(row, "class", "support", "precision", "recall", "F1"));
                for (ClassFigures c : classes) {
                    out.append(String.format(Locale.ROOT, "%" + width + "s %,9d %9.4f %9.4f %9.4f%n",
                            PredictionGrid.name(names, c.label()), c.support(), c.precision(), c.recall(), c.f1()));
                }
            }
            return out.toString();
        }
    }

    /** The figures of a confusion matrix and loss. */
    public static Report report(EvalResult result, String model, String data) {
        int n = result.numClasses();
        long[][] confusion = new long[n][n];
        List<ClassFigures> classes = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            long support = 0;
            long predicted = 0;
            for (int k = 0; k < n; k++) {
                confusion[c][k] = result.count(c, k);
                support += result.count(c, k);
                predicted += result.count(k, c);
            }
            double precision = (double) result.count(c, c) / predicted;
            double recall = (double) result.count(c, c) / support;
            double f1 = 2 * precision * recall / (precision + recall);
            classes.add(new ClassFigures(c, support, predicted, precision, recall, result.count(c, c) == 0 ? 0 : f1));
        }
        return new Report(model, data, result.examples(), result.accuracy(), result.meanLoss(), List.copyOf(classes),
                confusion);
    }

    /** Evaluates the model in {@code modelZip} on {@code testSet} (not opened yet) as {@code plan} says, in sc. */
    public static EvalResult evaluate(Path modelZip, TrainingPlan plan, DataSource testSet, JavaSparkContext sc) {
        MultiLayerNetwork net = restore(modelZip);
        String json = net.getLayerWiseConfigurations().toJson();
        WorkerKernel kernel = new WorkerKernel(json, plan.model().type().target(), plan.kernel());
        ModelSnapshot model = new ModelSnapshot(net.params().toFloatVector(), kernel.snapshot().updaterState(), 0, 0);
        DataSource source = withModelTokens(testSet.open(sc), modelZip);
        requireFits(net, modelZip, source.featureSize());
        TrainingData test = TrainingRun.load(sc, source, plan.sync().workers(), plan.training().seed());
        try {
            return Trainer.evaluate(sc, plan, json, source.inputShape(), model, test);
        } finally {
            test.blocks().unpersist(false);
        }
    }

    /**
     * A text or character test set read with the model's own vocabulary or alphabet, saved beside it, rather than
     * the one the plan's training data gives today (data that changed since would give other token ids).
     */
    private static DataSource withModelTokens(DataSource test, Path modelZip) {
        Path vocabulary = modelZip.toAbsolutePath().resolveSibling(RunDirectory.VOCABULARY);
        Path alphabet = modelZip.toAbsolutePath().resolveSibling(RunDirectory.ALPHABET);
        try {
            if (test instanceof TextDataSource text && Files.exists(vocabulary)) {
                return new TextDataSource(text.file(), Vocabulary.read(vocabulary), text.maxLength(), text.slots());
            }
            if (test instanceof CharDataSource chars && Files.exists(alphabet)) {
                return new CharDataSource(chars.path(), Alphabet.read(alphabet), chars.length(), chars.slots());
            }
            return test;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model's tokens beside " + modelZip + ": "
                    + e.getMessage(), e);
        }
    }

    /** The network saved in {@code modelZip}, or a clear error naming the file. */
    public static MultiLayerNetwork restore(Path modelZip) {
        try {
            return ModelSerializer.restoreMultiLayerNetwork(new File(modelZip.toString()), false);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("model", modelZip, "is not a saved DL4J model (model.zip): " + e.getMessage());
        }
    }

    /** The model takes examples of {@code featureSize} values, or evaluation stops here with one clear line. */
    public static void requireFits(MultiLayerNetwork net, Path modelZip, int featureSize) {
        try {
            net.output(Nd4j.zeros(DataType.FLOAT, 1, featureSize), false);
        } catch (RuntimeException e) {
            throw new ConfigException("model", modelZip, "does not take the data's examples of " + featureSize
                    + " values: " + e.getMessage());
        }
    }
}
