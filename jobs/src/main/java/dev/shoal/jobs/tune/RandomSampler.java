package dev.shoal.jobs.tune;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Every key drawn independently from its distribution, from a generator seeded by the search's seed and the trial
 * number: trial t has the same parameters however many trials ran before it (a resumed search repeats them).
 */
public final class RandomSampler implements Sampler {
    private final SearchSpace space;
    private final long seed;

    public RandomSampler(SearchSpace space, long seed) {
        this.space = space;
        this.seed = seed;
    }

    @Override
    public Map<String, JsonNode> propose(int trial, List<Observation> finished) {
        Random random = random(seed, trial);
        Map<String, JsonNode> params = new LinkedHashMap<>();
        Map<String, JsonNode> grid = space.gridPoint(trial);
        space.keys().forEach((key, d) -> params.put(key, grid.containsKey(key) ? grid.get(key) : d.sample(random)));
        return params;
    }

    /**
     * A generator of its own for each trial of a search. Its seed goes through SplittableRandom's mixing first:
     * java.util.Random seeded with consecutive numbers starts with nearly equal values (the first learning rates
     * of a search all came out near 0.00225).
     */
    static Random random(long seed, int trial) {
        return new Random(new SplittableRandom(seed * 0x9E3779B97F4A7C15L + trial).nextLong());
    }
}
