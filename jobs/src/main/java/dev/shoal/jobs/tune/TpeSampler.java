package dev.shoal.jobs.tune;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The Tree-structured Parzen Estimator (Bergstra et al., "Algorithms for Hyper-Parameter Optimization", 2011),
 * key by key: the finished trials are split into the best {@link #GAMMA} and the rest; each part's values of a
 * key make a density (l for the good, g for the rest); {@link #CANDIDATES} values are drawn from l and the one
 * with the largest l(x)/g(x) is taken. Numbers use a Gaussian at each value, as wide as the larger gap to its
 * neighbours, plus one over the whole range as a prior; choices use their counts plus one. Until
 * {@code startup} trials have finished, and for grid keys, it proposes what {@link RandomSampler} would.
 *
 * <p>A small implementation rather than a library: no maintained Java TPE exists (Optuna and Hyperopt are Python),
 * and the method is a page long.
 */
public final class TpeSampler implements Sampler {
    static final double GAMMA = 0.25;
    static final int CANDIDATES = 24;

    private final SearchSpace space;
    private final long seed;
    private final int startup;
    private final RandomSampler fallback;

    public TpeSampler(SearchSpace space, long seed, int startup) {
        this.space = space;
        this.seed = seed;
        this.startup = startup;
        this.fallback = new RandomSampler(space, seed);
    }

    @Override
    public Map<String, JsonNode> propose(int trial, List<Observation> finished) {
        Map<String, JsonNode> params = fallback.propose(trial, finished);
        if (finished.size() < Math.max(startup, 2)) {
            return params;
        }
        // Completed trials first, best first; pruned ones after them.
        List<Observation> ranked = new ArrayList<>(finished);
        ranked.sort(Comparator.comparing(Observation::pruned).thenComparing(Observation::score,
                Comparator.reverseOrder()));
        int good = Math.max(1, (int) Math.ceil(GAMMA * ranked.size()));
        List<Observation> best = ranked.subList(0, good);
        List<Observation> rest = ranked.subList(good, ranked.size());
        Random random = new Random(RandomSampler.random(seed, trial).nextLong() ^ 0x5DEECE66DL);
        space.keys().forEach((key, d) -> {
            if (d instanceof Distribution.Numeric n) {
                params.put(key, numeric(n, values(best, key, n), values(rest, key, n), random));
            } else if (d instanceof Distribution.Choice c) {
                params.put(key, choice(c, best, rest, key, random));
            }
        });
        return params;
    }

    private static double[] values(List<Observation> trials, String key, Distribution.Numeric n) {
        return trials.stream().filter(o -> o.params().containsKey(key))
                .mapToDouble(o -> n.toInternal(o.params().get(key))).toArray();
    }

    private static JsonNode numeric(Distribution.Numeric n, double[] good, double[] bad, Random random) {
        Parzen l = new Parzen(good, n.internalLow(), n.internalHigh());
        Parzen g = new Parzen(bad, n.internalLow(), n.internalHigh());
        double bestX = Double.NaN;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < CANDIDATES; i++) {
            double x = l.sample(random);
            double score = Math.log(l.density(x)) - Math.log(g.density(x));
            if (score > bestScore) {
                bestScore = score;
                bestX = x;
            }
        }
        return n.fromInternal(bestX);
    }

    private static JsonNode choice(Distribution.Choice c, List<Observation> good, List<Observation> bad, String key,
                                   Random random) {
        double[] l = counts(c, good, key);
        double[] g = counts(c, bad, key);
        double total = Arrays.stream(l).sum();
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < CANDIDATES; i++) {
            double u = random.nextDouble() * total;
            int k = 0;
            while (k < l.length - 1 && u >= l[k]) {
                u -= l[k];
                k++;
            }
            double score = Math.log(l[k] / total) - Math.log(g[k] / Arrays.stream(g).sum());
            if (score > bestScore) {
                bestScore = score;
                best = k;
            }
        }
        return c.options().get(best);
    }

    /** How often each option was chosen, plus one for each (the prior). */
    private static double[] counts(Distribution.Choice c, List<Observation> trials, String key) {
        double[] counts = new double[c.options().size()];
        Arrays.fill(counts, 1);
        for (Observation o : trials) {
            int k = c.options().indexOf(o.params().get(key));
            if (k >= 0) {
                counts[k]++;
            }
        }
        return counts;
    }

    /** An equal mixture of Gaussians, one at each point and one wide prior over [low, high], truncated there. */
    static final class Parzen {
        private final double[] means;
        private final double[] sigmas;
        private final double low;
        private final double high;

        Parzen(double[] points, double low, double high) {
            this.low = low;
            this.high = high;
            double range = high - low;
            double[] sorted = points.clone();
            Arrays.sort(sorted);
            // The points, each as wide as its larger gap (to a neighbour or a bound), then the prior.
            means = Arrays.copyOf(sorted, sorted.length + 1);
            sigmas = new double[means.length];
            double smallest = range / Math.min(100, sorted.length + 1);
            for (int i = 0; i < sorted.length; i++) {
                double left = sorted[i] - (i == 0 ? low : sorted[i - 1]);
                double right = (i == sorted.length - 1 ? high : sorted[i + 1]) - sorted[i];
                sigmas[i] = Math.min(range, Math.max(smallest, Math.max(left, right)));
            }
            means[sorted.length] = (low + high) / 2;
            sigmas[sorted.length] = range;
        }

        double sample(Random random) {
            int k = random.nextInt(means.length);
            for (int attempt = 0; attempt < 100; attempt++) {
                double x = means[k] + sigmas[k] * random.nextGaussian();
                if (x >= low && x < high) {
                    return x;
                }
            }
            return Math.min(Math.max(means[k], low), Math.nextDown(high));
        }

        double density(double x) {
            double sum = 0;
            for (int i = 0; i < means.length; i++) {
                double z = (x - means[i]) / sigmas[i];
                sum += Math.exp(-0.5 * z * z) / sigmas[i];
            }
            return sum / means.length + Double.MIN_VALUE;
        }
    }
}
