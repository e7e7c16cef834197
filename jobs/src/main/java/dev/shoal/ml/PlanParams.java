package dev.shoal.ml;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.jobs.PlanBinder;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Key;
import java.io.Serializable;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;
import scala.runtime.AbstractFunction1;

/**
 * The job-file keys a Spark ML stage takes as Params, derived from the plan records, so that Params and keys
 * cannot drift: a Param's name is the dotted key ({@code optimizer.learning-rate}), its type follows the record
 * component's (int, long, double, boolean, text and enum values as strings, lists of ints, doubles or strings as
 * arrays), its doc and default are the key's. A value is checked when it is set as a job file's value is (type,
 * enum names); the whole plan, ranges and rules between keys included, when the stage binds it. Either way the
 * binder's message, which names the key and the value, is the error.
 *
 * <p>Keys are taken from the sections that describe training (model, optimizer, training, sync, checkpoint) and
 * a few of data and output; the data's location, format and columns come from the DataFrame and the stage's
 * column Params, and Spark's settings from the session.
 */
final class PlanParams implements Serializable {
    private static final List<String> SECTIONS = List.of("model.", "optimizer.", "training.", "sync.",
            "checkpoint.");
    private static final List<String> DATA_KEYS = List.of("data.scale", "data.shape", "data.classes",
            "data.class-names", "data.holdout", "data.skip-bad-records", "output.dir");

    private final Map<String, Param<?>> byKey = new LinkedHashMap<>();
    private final Map<Param<?>, Object> defaults = new LinkedHashMap<>();

    PlanParams(Params owner) {
        collect(owner, TrainingPlan.class, "");
    }

    /** The Params, in the order of the keys. */
    List<Param<?>> params() {
        return List.copyOf(byKey.values());
    }

    /** The Param of {@code key}; an error naming the keys there are when it has none. */
    Param<?> param(String key) {
        Param<?> p = byKey.get(key);
        if (p == null) {
            throw new IllegalArgumentException("no Param for key '" + key + "'; the keys are " + byKey.keySet());
        }
        return p;
    }

    /** Each Param's default: the key's default (keys without one, such as model.type, have none). */
    Map<Param<?>, Object> defaults() {
        return defaults;
    }

    /**
     * Sets {@code owner}'s Params from the keys {@code job} (a job file's tree) has; the others are left as
     * they are.
     */
    void setFrom(JsonNode job, java.util.function.BiConsumer<Param<?>, Object> set) {
        byKey.forEach((key, p) -> {
            JsonNode value = job.at("/" + key.replace('.', '/'));
            if (!value.isMissingNode()) {
                set.accept(p, value(p, value));
            }
        });
    }

    /** A job-file tree of every Param {@code owner} has a value for (set or default). */
    ObjectNode tree(Params owner) {
        ObjectNode tree = JsonNodeFactory.instance.objectNode();
        byKey.forEach((key, p) -> {
            if (owner.isDefined(p)) {
                PlanBinder.set(tree, key, json(owner.getOrDefault(p)));
            }
        });
        return tree;
    }

    private void collect(Params owner, Class<?> record, String prefix) {
        for (RecordComponent c : record.getRecordComponents()) {
            String key = prefix + PlanBinder.keyName(c);
            if (c.getType().isRecord()) {
                collect(owner, c.getType(), key + ".");
            } else if (DATA_KEYS.contains(key) || SECTIONS.stream().anyMatch(key::startsWith)) {
                Key k = c.getAnnotation(Key.class);
                Param<?> p = param(owner, key, k.doc(), c.getGenericType());
                if (p != null) {
                    byKey.put(key, p);
                    if (!Key.REQUIRED.equals(k.defaultValue())) {
                        defaults.put(p, value(p, PlanBinder.value(key, k.defaultValue())));
                    }
                }
            }
        }
    }

    /** A Param of the type that holds the component's values, or null for a type no Param holds. */
    private static Param<?> param(Params owner, String key, String doc, Type type) {
        String uid = owner.uid();
        if (type == int.class) {
            return new IntParam(owner, key, doc, new Check<>(uid, key));
        } else if (type == long.class) {
            return new LongParam(owner, key, doc, new Check<>(uid, key));
        } else if (type == double.class) {
            return new DoubleParam(owner, key, doc, new Check<>(uid, key));
        } else if (type == boolean.class) {
            return new BooleanParam(owner, key, doc);
        } else if (type == String.class || type instanceof Class<?> cls && cls.isEnum()) {
            return new Param<String>(owner, key, doc, new Check<>(uid, key));
        } else if (type instanceof ParameterizedType list && list.getRawType() == List.class) {
            Type element = list.getActualTypeArguments()[0];
            if (element == Integer.class) {
                return new IntArrayParam(owner, key, doc, new Check<>(uid, key));
            } else if (element == Double.class) {
                return new DoubleArrayParam(owner, key, doc, new Check<>(uid, key));
            } else if (element == String.class) {
                return new StringArrayParam(owner, key, doc, new Check<>(uid, key));
            }
        }
        return null;
    }

    /** A YAML value as the Java value of {@code p}. */
    static Object value(Param<?> p, JsonNode node) {
        if (p instanceof IntParam) {
            return node.asInt();
        } else if (p instanceof LongParam) {
            return node.asLong();
        } else if (p instanceof DoubleParam) {
            return node.asDouble();
        } else if (p instanceof BooleanParam) {
            return node.asBoolean();
        } else if (p instanceof IntArrayParam) {
            return IntStream.range(0, node.size()).map(i -> node.get(i).asInt()).toArray();
        } else if (p instanceof DoubleArrayParam) {
            return IntStream.range(0, node.size()).mapToDouble(i -> node.get(i).asDouble()).toArray();
        } else if (p instanceof StringArrayParam) {
            return IntStream.range(0, node.size()).mapToObj(i -> node.get(i).asText()).toArray(String[]::new);
        }
        return node.asText();
    }

    /** A Param's value as a job-file value. */
    static JsonNode json(Object value) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (value instanceof int[] ints) {
            ArrayNode a = f.arrayNode();
            Arrays.stream(ints).forEach(a::add);
            return a;
        } else if (value instanceof double[] doubles) {
            ArrayNode a = f.arrayNode();
            Arrays.stream(doubles).forEach(a::add);
            return a;
        } else if (value instanceof String[] strings) {
            ArrayNode a = f.arrayNode();
            Arrays.stream(strings).forEach(a::add);
            return a;
        } else if (value instanceof Integer i) {
            return f.numberNode(i);
        } else if (value instanceof Long l) {
            return f.numberNode(l);
        } else if (value instanceof Double d) {
            return f.numberNode(d);
        } else if (value instanceof Boolean b) {
            return f.booleanNode(b);
        }
        return f.textNode(String.valueOf(value));
    }

    /**
     * A Param's validator: the value must be one a job file could give the key (its type; an enum's names). The
     * checks between keys and of ranges need the whole plan: the stage makes them when it binds it, in
     * transformSchema, before anything trains.
     */
    private static final class Check<T> extends AbstractFunction1<T, Object> implements Serializable {
        private final String owner;
        private final String key;

        Check(String owner, String key) {
            this.owner = owner;
            this.key = key;
        }

        @Override
        public Object apply(T value) {
            try {
                PlanBinder.checkValue(TrainingPlan.class, key, json(value));
            } catch (ConfigException e) {
                throw new IllegalArgumentException(owner + ": Param " + e.getMessage(), e);
            }
            return true;
        }
    }

    /** The keys, for messages and tests. */
    List<String> keys() {
        return new ArrayList<>(byKey.keySet());
    }
}
