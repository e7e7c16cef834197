package dev.shoal.jobs.tune;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shoal.kernel.config.ConfigException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code space} of a search: for each job key (e.g. {@code optimizer.learning-rate}), the
 * {@link Distribution} its values come from. Grid keys are enumerated: trial {@code t} takes combination
 * {@code t mod gridSize()} of their values, the first key changing slowest.
 */
public record SearchSpace(Map<String, Distribution> keys) {

    public SearchSpace {
        keys = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(keys));
    }

    public static SearchSpace parse(JsonNode space) {
        if (space == null || !space.isObject() || space.isEmpty()) {
            throw new ConfigException("space", space == null ? "(missing)" : space, "must map job keys to "
                    + "distributions, e.g. {optimizer.learning-rate: {log-uniform: [1e-4, 1e-2]}}");
        }
        Map<String, Distribution> keys = new LinkedHashMap<>();
        space.fields().forEachRemaining(f -> keys.put(f.getKey(), Distribution.parse(f.getKey(), f.getValue())));
        return new SearchSpace(keys);
    }

    /** Combinations of the grid keys' values: 1 when there are none. */
    public int gridSize() {
        int size = 1;
        for (Distribution d : keys.values()) {
            if (d instanceof Distribution.Grid g) {
                size = Math.multiplyExact(size, g.options().size());
            }
        }
        return size;
    }

    /** Whether every key is a grid key, so that the grid alone says which trials there are. */
    public boolean onlyGrid() {
        return keys.values().stream().allMatch(d -> d instanceof Distribution.Grid);
    }

    /** The grid keys' values of trial {@code trial}. */
    public Map<String, JsonNode> gridPoint(int trial) {
        Map<String, JsonNode> point = new LinkedHashMap<>();
        int rest = trial % gridSize();
        int stride = gridSize();
        for (Map.Entry<String, Distribution> e : keys.entrySet()) {
            if (e.getValue() instanceof Distribution.Grid g) {
                stride /= g.options().size();
                point.put(e.getKey(), g.options().get(rest / stride));
                rest %= stride;
            }
        }
        return point;
    }
}
