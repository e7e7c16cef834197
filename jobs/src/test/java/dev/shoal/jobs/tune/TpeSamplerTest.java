package dev.shoal.jobs.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * TPE against random search on an objective whose best point is known: a learning rate best at 1e-3 (searched
 * in [1e-5, 1e-1]) and a choice whose best option is "b". Deterministic (fixed seeds); the margins are wide.
 */
class TpeSamplerTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static double objective(Map<String, JsonNode> p) {
        double distance = Math.log10(p.get("lr").asDouble()) + 3;
        return -distance * distance + (p.get("act").asText().equals("b") ? 1 : 0);
    }

    /** Mean distance (in decades) from 1e-3 of the last 20 of 40 trials, and how many of them chose "b". */
    private static double[] run(Sampler sampler) {
        List<Observation> finished = new ArrayList<>();
        double distance = 0;
        int choseB = 0;
        for (int t = 0; t < 40; t++) {
            Map<String, JsonNode> p = sampler.propose(t, finished);
            double lr = p.get("lr").asDouble();
            assertTrue(lr >= 1e-5 && lr <= 1e-1, "within bounds: " + lr);
            finished.add(new Observation(p, objective(p), false));
            if (t >= 20) {
                distance += Math.abs(Math.log10(lr) + 3) / 20;
                choseB += p.get("act").asText().equals("b") ? 1 : 0;
            }
        }
        return new double[] {distance, choseB};
    }

    @Test
    void findsTheBetterRegionWhereRandomSearchDoesNot() throws IOException {
        SearchSpace space = SearchSpace.parse(YAML.readTree(
                "{lr: {log-uniform: [1e-5, 1e-1]}, act: {choice: [a, b, c]}}"));
        for (long seed = 1; seed <= 3; seed++) {
            double[] tpe = run(new TpeSampler(space, seed, 8));
            double[] random = run(new RandomSampler(space, seed));
            // Random search stays ~1.2 decades away on average and picks "b" a third of the time.
            assertTrue(tpe[0] < 0.6 * random[0], "seed " + seed + ": TPE " + tpe[0] + " decades from the "
                    + "best, random " + random[0]);
            assertTrue(tpe[1] >= 12, "seed " + seed + ": TPE chose the best option " + tpe[1] + " of 20 times");
        }
    }

    @Test
    void proposesAtRandomUntilEnoughTrialsFinished() throws IOException {
        SearchSpace space = SearchSpace.parse(YAML.readTree("{lr: {log-uniform: [1e-5, 1e-1]}}"));
        List<Observation> three = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            three.add(new Observation(new RandomSampler(space, 4).propose(t, List.of()), t, false));
        }
        assertEquals(new RandomSampler(space, 4).propose(3, three), new TpeSampler(space, 4, 5).propose(3, three));
    }
}
