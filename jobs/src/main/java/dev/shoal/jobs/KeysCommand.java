package dev.shoal.jobs;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.config.Key;
import dev.shoal.ml.ShoalClassifier;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.apache.spark.ml.param.Param;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal keys}: every job-file key with its default and meaning, as a Markdown table. */
@Command(name = "keys", mixinStandardHelpOptions = true,
        description = "Print every job-file key with its default and meaning (Markdown), from the plan records.")
final class KeysCommand implements Callable<Integer> {

    @Option(names = "--spark-ml", description = "Print ShoalClassifier's Params instead (the column Params and "
            + "the keys it takes, named by key).")
    boolean sparkMl;

    @Override
    public Integer call() {
        System.out.print(sparkMl ? paramsTable() : table());
        return 0;
    }

    /** ShoalClassifier's Params with their defaults and docs, as a Markdown table. */
    static String paramsTable() {
        ShoalClassifier classifier = new ShoalClassifier();
        StringBuilder out = new StringBuilder("| Param | default | meaning |\n|---|---|---|\n");
        for (Param<?> p : classifier.params()) {
            scala.Option<?> value = classifier.getDefault(p);
            String shown = value.isEmpty() ? "(required)" : "`" + display(value.get()) + "`";
            out.append("| `").append(p.name()).append("` | ").append(shown).append(" | ").append(p.doc())
                    .append(" |\n");
        }
        return out.toString();
    }

    private static String display(Object value) {
        if (value instanceof int[] ints) {
            return Arrays.toString(ints);
        } else if (value instanceof double[] doubles) {
            return Arrays.toString(doubles);
        } else if (value instanceof String[] strings) {
            return Arrays.toString(strings);
        }
        return value.toString().isEmpty() ? "''" : value.toString();
    }

    static String table() {
        StringBuilder out = new StringBuilder("| key | default | meaning |\n|---|---|---|\n");
        rows(TrainingPlan.class, "", out);
        return out.toString();
    }

    private static void rows(Class<?> record, String prefix, StringBuilder out) {
        for (RecordComponent c : record.getRecordComponents()) {
            String key = prefix + PlanBinder.keyName(c);
            Key k = c.getAnnotation(Key.class);
            if (c.getType().isRecord()) {
                rows(c.getType(), key + ".", out);
                continue;
            }
            String def = Key.REQUIRED.equals(k.defaultValue()) ? "(required)" : "`" + k.defaultValue() + "`";
            out.append("| `").append(key).append("` | ").append(def).append(" | ").append(k.doc()).append(" |\n");
        }
    }
}
