package dev.shoal.jobs.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SearchSpaceTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static SearchSpace space(String yaml) throws IOException {
        return SearchSpace.parse(YAML.readTree(yaml));
    }

    @Test
    void samplesStayWithinTheirBoundsAndCoverTheirValues() throws IOException {
        SearchSpace s = space("{a: {uniform: [-1, 2]}, b: {log-uniform: [1e-4, 1e-2]}, c: {int: [3, 6]}, "
                + "d: {choice: [[1, 2], x, 0.5]}}");
        Random random = new Random(1);
        Set<JsonNode> ints = new HashSet<>();
        Set<JsonNode> choices = new HashSet<>();
        int belowGeometricMiddle = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            double a = s.keys().get("a").sample(random).asDouble();
            double b = s.keys().get("b").sample(random).asDouble();
            JsonNode c = s.keys().get("c").sample(random);
            assertTrue(a >= -1 && a <= 2, "uniform " + a);
            assertTrue(b >= 1e-4 && b <= 1e-2, "log-uniform " + b);
            assertTrue(c.isInt() && c.asInt() >= 3 && c.asInt() <= 6, "int " + c);
            ints.add(c);
            choices.add(s.keys().get("d").sample(random));
            belowGeometricMiddle += b < 1e-3 ? 1 : 0;
        }
        // Uniform in log space: half below 1e-3, the geometric middle (the arithmetic middle would hold ~9%).
        assertEquals(0.5, (double) belowGeometricMiddle / n, 0.02);
        assertEquals(4, ints.size(), "3, 4, 5 and 6 all drawn");
        assertEquals(Set.of(YAML.readTree("[1, 2]"), YAML.readTree("x"), YAML.readTree("0.5")), choices);
    }

    /** Trials draw from generators of their own: across trials the first value is uniform, not bunched. */
    @Test
    void consecutiveTrialsDrawIndependentValues() throws IOException {
        SearchSpace s = space("{lr: {log-uniform: [1e-4, 1e-2]}}");
        RandomSampler sampler = new RandomSampler(s, 7);
        int[] decades = new int[2];
        for (int t = 0; t < 2000; t++) {
            double lr = sampler.propose(t, List.of()).get("lr").asDouble();
            decades[lr < 1e-3 ? 0 : 1]++;
        }
        assertEquals(1000, decades[0], 80, "each decade holds half of the trials");
        assertEquals(sampler.propose(5, List.of()), new RandomSampler(s, 7).propose(5, List.of()),
                "the same seed proposes the same trial");
    }

    @Test
    void aGridEnumeratesEveryCombinationExactlyOnce() throws IOException {
        SearchSpace s = space("{a: {grid: [1, 2, 3]}, b: {grid: [x, y]}, c: {uniform: [0, 1]}}");
        assertEquals(6, s.gridSize());
        assertFalse(s.onlyGrid());
        Set<Map<String, JsonNode>> seen = new HashSet<>();
        for (int t = 0; t < 6; t++) {
            Map<String, JsonNode> point = s.gridPoint(t);
            assertEquals(Set.of("a", "b"), point.keySet());
            seen.add(point);
        }
        assertEquals(6, seen.size(), "all 3 x 2 combinations");
        assertEquals(s.gridPoint(0), s.gridPoint(6), "then again from the first");
        assertEquals(YAML.readTree("1"), s.gridPoint(1).get("a"), "the first key changes slowest");
        assertEquals(s.gridPoint(2).get("a"), new RandomSampler(s, 1).propose(2, List.of()).get("a"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "lower above upper | {uniform: [0.5, 0.1]}     | space.k = {\"uniform\":[0.5,0.1]}: the lower bound 0.5 must be below the upper 0.1",
        "log of zero       | {log-uniform: [0, 1]}     | space.k = {\"log-uniform\":[0,1]}: log-uniform needs a lower bound > 0",
        "int of fractions  | {int: [1.5, 4]}           | space.k = {\"int\":[1.5,4]}: int needs whole numbers",
        "unknown kind      | {normal: [0, 1]}          | space.k = {\"normal\":[0,1]}: unknown distribution 'normal'; allowed: uniform, log-uniform, int, choice, grid",
        "empty choice      | {choice: []}              | space.k = {\"choice\":[]}: choice needs a list of values",
        "a bare value      | 0.01                      | space.k = 0.01: must be one of",
        "one bound         | {uniform: [1]}            | space.k = {\"uniform\":[1]}: uniform needs [low, high], two numbers",
    })
    void aBadDistributionFailsInOneLineNamingItsKey(String name, String spec, String expected) {
        ConfigException e = assertThrows(ConfigException.class, () -> space("{k: " + spec + "}"));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
