package dev.shoal.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.shoal.driver.plan.DataConfig;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Key;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Binds a YAML tree to immutable records, strictly. Every record component is one key, spelled in kebab case
 * ({@code batchSize} is {@code batch-size}) and declared with {@link Key}; a missing key takes its default, which
 * is itself YAML and bound the same way. Unknown keys (with a "did you mean"), wrong types, bad enum values and
 * values the records' own checks reject all fail with a {@link ConfigException} naming the dotted key and value.
 */
public final class PlanBinder {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    private PlanBinder() {
    }

    /** Parses YAML text; {@code source} names it in errors. An empty document is an empty mapping. */
    public static ObjectNode parse(String yaml, String source) {
        JsonNode tree;
        try {
            tree = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, "(unparseable)", "not valid YAML: "
                    + e.getOriginalMessage().replace('\n', ' '));
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (!tree.isObject()) {
            throw new ConfigException(source, tree.getNodeType(), "a job file must be a mapping of keys to values");
        }
        return (ObjectNode) tree;
    }

    /** Applies {@code key.path=value}; the value is read as YAML, so numbers, lists and words all work. */
    public static void override(ObjectNode root, String assignment) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new ConfigException("--set", assignment, "must be key.path=value");
        }
        String key = assignment.substring(0, eq).trim();
        set(root, key, value(key, assignment.substring(eq + 1)));
    }

    /** Sets the dotted {@code key} in {@code root} to {@code value}, making the sections on the way. */
    public static void set(ObjectNode root, String key, JsonNode value) {
        String[] path = key.split("\\.");
        ObjectNode node = root;
        for (int i = 0; i < path.length - 1; i++) {
            JsonNode child = node.get(path[i]);
            if (child == null || child.isNull()) {
                child = node.putObject(path[i]);
            } else if (!child.isObject()) {
                throw new ConfigException(String.join(".", Arrays.copyOf(path, i + 1)), child,
                        "is a value, not a section, so it has no key " + path[i + 1]);
            }
            node = (ObjectNode) child;
        }
        node.set(path[path.length - 1], value);
    }

    /**
     * Makes the relative paths written in {@code root} (the keys declared {@link Key#path()}) absolute against
     * {@code base}, the folder of the job file they were written in. What stays relative (values from --set,
     * defaults) is read against the working directory when bound.
     */
    public static void resolvePaths(ObjectNode root, Class<? extends Record> type, Path base) {
        if (namesTables(type, root)) {
            return;
        }
        for (RecordComponent c : type.getRecordComponents()) {
            JsonNode value = root.get(keyName(c));
            if (value == null) {
                continue;
            }
            if (c.getType().isRecord() && value.isObject()) {
                @SuppressWarnings("unchecked")
                Class<? extends Record> section = (Class<? extends Record>) c.getType();
                resolvePaths((ObjectNode) value, section, base);
            } else if (isPath(c) && value.isTextual()) {
                root.put(keyName(c), resolve(base, value.asText()));
            }
        }
    }

    /** A local path made absolute against {@code base}; empty values and URIs (hdfs://, s3a://, file:) as given. */
    static String resolve(Path base, String path) {
        if (path.isEmpty() || path.matches("[A-Za-z][A-Za-z0-9+.-]*:.*")) {
            return path;
        }
        return base.toAbsolutePath().resolve(path).normalize().toString();
    }

    /** Whether {@code node} is a data section whose data.train and data.test name tables in Spark's catalog. */
    private static boolean namesTables(Class<?> type, JsonNode node) {
        return type == DataConfig.class && node.path("format").isTextual()
                && "spark-table".equals(node.path("format").asText().toLowerCase(Locale.ROOT).replace('_', '-'));
    }

    /**
     * Checks that {@code value} is a value of the dotted {@code key} under the record {@code root} as a job file
     * would give it: of the key's type, an enum's names for an enum. The checks that records make when they are
     * built (ranges, and rules between keys) are not made: they need the whole plan.
     */
    public static void checkValue(Class<? extends Record> root, String key, JsonNode value) {
        Class<?> record = root;
        String[] path = key.split("\\.");
        for (int i = 0; i < path.length; i++) {
            String name = path[i];
            RecordComponent c = Arrays.stream(record.getRecordComponents()).filter(r -> keyName(r).equals(name))
                    .findFirst().orElseThrow(() -> new ConfigException(key, value, "no such key"));
            if (i == path.length - 1) {
                bindValue(value, c.getGenericType(), key);
            }
            record = c.getType();
        }
    }

    private static boolean isPath(RecordComponent c) {
        Key k = c.getAnnotation(Key.class);
        return k != null && k.path() && c.getType() == String.class;
    }

    /** Binds {@code node} to a record of type {@code type}. */
    public static <T extends Record> T bind(JsonNode node, Class<T> type) {
        return type.cast(bindRecord(node, type, ""));
    }

    /** The record as a YAML tree with every key present, as the binder would read it back. */
    public static ObjectNode toTree(Record record) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        for (RecordComponent c : record.getClass().getRecordComponents()) {
            Object value;
            try {
                value = c.getAccessor().invoke(record);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            out.set(keyName(c), valueTree(value));
        }
        return out;
    }

    /** A value as the job file writes it: sections as mappings, enums by their job-file names, lists of either. */
    private static JsonNode valueTree(Object value) {
        if (value instanceof Record r) {
            return toTree(r);
        }
        if (value instanceof Enum<?> e) {
            return JsonNodeFactory.instance.textNode(enumName(e));
        }
        if (value instanceof List<?> list) {
            ArrayNode array = JsonNodeFactory.instance.arrayNode();
            list.forEach(element -> array.add(valueTree(element)));
            return array;
        }
        return YAML.valueToTree(value);
    }

    public static String toYaml(Record record) {
        try {
            return YAML.writeValueAsString(toTree(record));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code text} read as a YAML value (empty text: the empty string) for {@code key}. */
    public static JsonNode value(String key, String text) {
        try {
            JsonNode value = text.isEmpty() ? JsonNodeFactory.instance.textNode("") : YAML.readTree(text);
            // YAML 1.1 reads on/off/yes/no as booleans: "--set output.run-id=off" means the word.
            boolean word = value.isBoolean() && !text.trim().equalsIgnoreCase(String.valueOf(value.asBoolean()));
            return word ? JsonNodeFactory.instance.textNode(text.trim()) : value;
        } catch (JsonProcessingException e) {
            throw new ConfigException(key, text, "not a YAML value");
        }
    }

    /** The job-file key of a record component: its name in kebab case. */
    public static String keyName(RecordComponent c) {
        return c.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    static String enumName(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static Object bindRecord(JsonNode node, Class<?> type, String path) {
        if (!node.isObject()) {
            throw new ConfigException(display(path), node, "must be a section (a mapping of keys to values)");
        }
        RecordComponent[] components = type.getRecordComponents();
        List<String> known = Arrays.stream(components).map(PlanBinder::keyName).toList();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!known.contains(field)) {
                throw unknownKey(path, field, node.get(field), known);
            }
        }
        Object[] args = new Object[components.length];
        for (int i = 0; i < components.length; i++) {
            RecordComponent c = components[i];
            String key = path + keyName(c);
            JsonNode value = node.get(keyName(c));
            if (value == null) {
                value = defaultOf(c, key);
            }
            args[i] = bindValue(value, c.getGenericType(), key);
            if (isPath(c) && !namesTables(type, node)) {
                args[i] = resolve(Path.of(""), (String) args[i]);
            }
        }
        try {
            Constructor<?> ctor = type.getDeclaredConstructor(
                    Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new));
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof ConfigException ce) {
                throw path.isEmpty() ? ce : ce.under(path.substring(0, path.length() - 1));
            }
            throw new IllegalStateException("cannot build " + type.getSimpleName(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build " + type.getSimpleName(), e);
        }
    }

    private static JsonNode defaultOf(RecordComponent c, String key) {
        Key k = c.getAnnotation(Key.class);
        if (k == null) {
            throw new IllegalStateException(key + " has no @Key declaration");
        }
        if (Key.REQUIRED.equals(k.defaultValue())) {
            throw new ConfigException(key, "(missing)", "required: " + k.doc());
        }
        try {
            JsonNode parsed = YAML.readTree(k.defaultValue());
            return parsed == null || parsed.isMissingNode() ? JsonNodeFactory.instance.textNode("") : parsed;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("bad default for " + key, e);
        }
    }

    private static Object bindValue(JsonNode node, Type type, String key) {
        if (node.isNull()) {
            throw new ConfigException(key, "(empty)", "needs a value");
        }
        if (type instanceof Class<?> cls) {
            if (cls.isRecord()) {
                return bindRecord(node, cls, key + ".");
            }
            if (cls.isEnum()) {
                return bindEnum(node, cls, key);
            }
            if (cls == int.class || cls == Integer.class) {
                if (!node.isIntegralNumber() || !node.canConvertToInt()) {
                    throw new ConfigException(key, node, "must be an integer");
                }
                return node.intValue();
            }
            if (cls == long.class) {
                if (!node.isIntegralNumber() || !node.canConvertToLong()) {
                    throw new ConfigException(key, node, "must be an integer");
                }
                return node.longValue();
            }
            if (cls == double.class) {
                if (!node.isNumber()) {
                    throw new ConfigException(key, node, "must be a number");
                }
                return node.doubleValue();
            }
            if (cls == boolean.class) {
                if (!node.isBoolean()) {
                    throw new ConfigException(key, node, "must be true or false");
                }
                return node.booleanValue();
            }
            if (cls == String.class) {
                if (!node.isValueNode()) {
                    throw new ConfigException(key, node, "must be a single value, not a list or section");
                }
                return node.asText();
            }
        }
        if (type instanceof ParameterizedType p && p.getRawType() == List.class) {
            if (!node.isArray()) {
                throw new ConfigException(key, node, "must be a list, like [256, 128]");
            }
            List<Object> items = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                items.add(bindValue(node.get(i), p.getActualTypeArguments()[0], key + "[" + i + "]"));
            }
            return List.copyOf(items);
        }
        throw new IllegalStateException("unsupported type " + type + " for " + key);
    }

    private static Object bindEnum(JsonNode node, Class<?> cls, String key) {
        List<String> allowed = Arrays.stream(cls.getEnumConstants()).map(e -> enumName((Enum<?>) e)).toList();
        String text = node.isValueNode() ? node.asText().toLowerCase(Locale.ROOT) : null;
        int index = allowed.indexOf(text);
        if (index < 0) {
            throw new ConfigException(key, node, "unknown value; allowed: " + String.join(", ", allowed));
        }
        return cls.getEnumConstants()[index];
    }

    private static ConfigException unknownKey(String path, String field, JsonNode value, List<String> known) {
        String section = path.isEmpty() ? "the top level" : display(path);
        String hint = known.stream().filter(k -> Typos.close(k, field)).findFirst()
                .map(k -> "did you mean " + path + k + "? ").orElse("");
        return new ConfigException(path + field, value, "unknown key; " + hint + "keys in " + section + ": "
                + known.stream().collect(Collectors.joining(", ")));
    }

    private static String display(String path) {
        return path.endsWith(".") ? path.substring(0, path.length() - 1) : path;
    }
}
