package dev.shoal.jobs;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.config.Key;
import java.lang.reflect.RecordComponent;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code shoal keys}: every job-file key with its default and meaning, as a Markdown table. */
@Command(name = "keys", mixinStandardHelpOptions = true,
        description = "Print every job-file key with its default and meaning (Markdown), from the plan records.")
final class KeysCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.print(table());
        return 0;
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
