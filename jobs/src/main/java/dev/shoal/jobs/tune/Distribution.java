package dev.shoal.jobs.tune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.shoal.kernel.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Where one job key's values come from. Numeric ones are sampled in an internal coordinate ({@link #toInternal}):
 * the value itself, or its logarithm for {@code log-uniform}, so that a model-based sampler works where the
 * distribution is uniform.
 */
public sealed interface Distribution {

    /** A value drawn at random. */
    JsonNode sample(Random random);

    /** {@code {uniform: [low, high]}}: a real number, uniform in [low, high]. */
    record Uniform(double low, double high) implements Numeric {
        @Override
        public double toInternal(JsonNode value) {
            return value.asDouble();
        }

        @Override
        public JsonNode fromInternal(double x) {
            return DoubleNode.valueOf(Math.min(high, Math.max(low, x)));
        }

        @Override
        public double internalLow() {
            return low;
        }

        @Override
        public double internalHigh() {
            return high;
        }
    }

    /** {@code {log-uniform: [low, high]}}, 0 < low: uniform in log space, as learning rates are searched. */
    record LogUniform(double low, double high) implements Numeric {
        @Override
        public double toInternal(JsonNode value) {
            return Math.log(value.asDouble());
        }

        @Override
        public JsonNode fromInternal(double x) {
            return DoubleNode.valueOf(Math.min(high, Math.max(low, Math.exp(x))));
        }

        @Override
        public double internalLow() {
            return Math.log(low);
        }

        @Override
        public double internalHigh() {
            return Math.log(high);
        }
    }

    /** {@code {int: [low, high]}}: an integer in [low, high], both included, each equally likely. */
    record IntRange(int low, int high) implements Numeric {
        @Override
        public double toInternal(JsonNode value) {
            return value.asInt();
        }

        @Override
        public JsonNode fromInternal(double x) {
            return IntNode.valueOf((int) Math.min(high, Math.max(low, Math.floor(x))));
        }

        @Override
        public double internalLow() {
            return low;
        }

        /** One past the largest: the integers own [low, high + 1) in equal parts. */
        @Override
        public double internalHigh() {
            return high + 1;
        }
    }

    /** {@code {choice: [a, b, ...]}}: one of the values (numbers, words, lists), each equally likely. */
    record Choice(List<JsonNode> options) implements Distribution {
        @Override
        public JsonNode sample(Random random) {
            return options.get(random.nextInt(options.size()));
        }
    }

    /** {@code {grid: [a, b, ...]}}: every value in turn; trials go through all combinations of the grid keys. */
    record Grid(List<JsonNode> options) implements Distribution {
        @Override
        public JsonNode sample(Random random) {
            return options.get(random.nextInt(options.size()));
        }
    }

    /** A distribution over numbers, sampled uniformly in its internal coordinate. */
    sealed interface Numeric extends Distribution permits Uniform, LogUniform, IntRange {
        double toInternal(JsonNode value);

        /** The value at internal coordinate {@code x}, kept within the bounds. */
        JsonNode fromInternal(double x);

        double internalLow();

        double internalHigh();

        @Override
        default JsonNode sample(Random random) {
            return fromInternal(internalLow() + random.nextDouble() * (internalHigh() - internalLow()));
        }
    }

    /** Reads {@code spec}, the value of {@code space.<key>}; a bad one fails naming the key and what was found. */
    static Distribution parse(String key, JsonNode spec) {
        String name = "space." + key;
        if (!spec.isObject() || spec.size() != 1) {
            throw new ConfigException(name, spec, "must be one of {uniform: [low, high]}, {log-uniform: [low, "
                    + "high]}, {int: [low, high]}, {choice: [values]}, {grid: [values]}");
        }
        String kind = spec.fieldNames().next();
        JsonNode args = spec.get(kind);
        if (!args.isArray() || args.isEmpty()) {
            throw new ConfigException(name, spec, kind + " needs a list of values");
        }
        List<JsonNode> values = new ArrayList<>();
        args.forEach(values::add);
        switch (kind) {
            case "choice":
                return new Choice(List.copyOf(values));
            case "grid":
                return new Grid(List.copyOf(values));
            case "uniform", "log-uniform", "int":
                break;
            default:
                throw new ConfigException(name, spec, "unknown distribution '" + kind + "'; allowed: uniform, "
                        + "log-uniform, int, choice, grid");
        }
        if (values.size() != 2 || !values.get(0).isNumber() || !values.get(1).isNumber()) {
            throw new ConfigException(name, spec, kind + " needs [low, high], two numbers");
        }
        double low = values.get(0).asDouble();
        double high = values.get(1).asDouble();
        if (!(low < high) && !(kind.equals("int") && low == high)) {
            throw new ConfigException(name, spec, "the lower bound " + values.get(0) + " must be below the upper "
                    + values.get(1));
        }
        return switch (kind) {
            case "uniform" -> new Uniform(low, high);
            case "log-uniform" -> {
                if (!(low > 0)) {
                    throw new ConfigException(name, spec, "log-uniform needs a lower bound > 0");
                }
                yield new LogUniform(low, high);
            }
            default -> {
                if (!values.get(0).canConvertToInt() || !values.get(1).canConvertToInt()
                        || !values.get(0).isIntegralNumber() || !values.get(1).isIntegralNumber()) {
                    throw new ConfigException(name, spec, "int needs whole numbers");
                }
                yield new IntRange(values.get(0).asInt(), values.get(1).asInt());
            }
        };
    }
}
