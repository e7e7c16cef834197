package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Federated averaging's client splits and sampling: properties over many sizes and seeds. */
class ClientsTest {

    private static int[] labels(int n, int classes, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return random.ints(n, 0, classes).toArray();
    }

    /** How many examples each client holds. */
    private static int[] sizes(int[] clientOf, int clients) {
        int[] sizes = new int[clients];
        for (int c : clientOf) {
            sizes[c]++;
        }
        return sizes;
    }

    /** The distinct labels of each client. */
    private static Set<Integer>[] labelSets(int[] clientOf, int[] labels, int clients) {
        @SuppressWarnings("unchecked")
        Set<Integer>[] sets = new Set[clients];
        Arrays.setAll(sets, k -> new HashSet<>());
        for (int i = 0; i < labels.length; i++) {
            sets[clientOf[i]].add(labels[i]);
        }
        return sets;
    }

    @Property(tries = 60)
    void shardsGiveEveryExampleOneClientEqualSharesAndFewLabels(@ForAll @IntRange(min = 1, max = 30) int clients,
                                                               @ForAll @IntRange(min = 1, max = 4) int perClient,
                                                               @ForAll @IntRange(min = 0, max = 500) int extra,
                                                               @ForAll long seed) {
        int n = clients * perClient * 3 + extra;
        int[] labels = labels(n, 10, seed);
        int[] clientOf = Clients.shards(labels, clients, perClient, seed);

        assertEquals(n, clientOf.length, "one client for every example");
        assertTrue(Arrays.stream(clientOf).allMatch(c -> c >= 0 && c < clients));
        int[] sizes = sizes(clientOf, clients);
        int shard = n / (clients * perClient);
        for (int k = 0; k < clients; k++) {
            assertTrue(sizes[k] >= perClient * shard && sizes[k] <= perClient * (shard + 1), "client " + k + ": "
                    + sizes[k] + " examples, shards of " + shard);
        }
        int[] perClass = new int[10];
        Arrays.stream(labels).forEach(l -> perClass[l]++);
        if (Arrays.stream(perClass).min().orElseThrow() > shard) {
            // No class is smaller than a shard, so a shard straddles at most two.
            for (Set<Integer> held : labelSets(clientOf, labels, clients)) {
                assertTrue(held.size() <= 2 * perClient, "at most two labels a shard: " + held);
            }
        }
        assertArrayEquals(clientOf, Clients.shards(labels, clients, perClient, seed), "the seed decides");
    }

    @Test
    void shardsOfWholeClassesGiveEachClientAtMostItsShardCountOfLabels() {
        // 10 classes of 600 and 200 shards of 30: like McMahan's MNIST split, every shard a single label.
        int[] labels = new int[6000];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 10;
        }
        int[] clientOf = Clients.shards(labels, 100, 2, 7);
        Set<Integer>[] sets = labelSets(clientOf, labels, 100);
        int two = 0;
        for (Set<Integer> held : sets) {
            assertTrue(held.size() >= 1 && held.size() <= 2, held.toString());
            two += held.size() == 2 ? 1 : 0;
        }
        assertTrue(two > 50, "most clients get two different labels, as the paper's split does: " + two);
    }

    @Property(tries = 40)
    void dirichletGivesEveryExampleOneClientAndEveryClientSomething(
            @ForAll @IntRange(min = 1, max = 40) int clients, @ForAll @IntRange(min = 0, max = 400) int extra,
            @ForAll long seed) {
        int n = clients + extra;
        int[] labels = labels(n, 5, seed);
        int[] clientOf = Clients.dirichlet(labels, 5, clients, 0.1, seed);
        assertEquals(n, clientOf.length);
        assertTrue(Arrays.stream(sizes(clientOf, clients)).allMatch(s -> s >= 1), "no client is left empty");
        assertArrayEquals(clientOf, Clients.dirichlet(labels, 5, clients, 0.1, seed), "the seed decides");
    }

    /** The mean over clients of the share of their commonest label: 1 when each holds one label. */
    private static double skew(double alpha, long seed) {
        int clients = 20;
        int[] labels = labels(10_000, 10, seed);
        int[] clientOf = Clients.dirichlet(labels, 10, clients, alpha, seed);
        int[][] counts = new int[clients][10];
        for (int i = 0; i < labels.length; i++) {
            counts[clientOf[i]][labels[i]]++;
        }
        return Arrays.stream(counts).mapToDouble(c -> (double) Arrays.stream(c).max().orElseThrow()
                / Arrays.stream(c).sum()).average().orElseThrow();
    }

    @Test
    void dirichletSkewFallsAsAlphaGrows() {
        for (long seed = 1; seed <= 3; seed++) {
            double tight = skew(0.05, seed);
            double half = skew(0.5, seed);
            double flat = skew(100, seed);
            assertTrue(tight > half && half > flat, "skew " + tight + " > " + half + " > " + flat);
            assertTrue(tight > 0.7, "alpha 0.05: clients hold mostly one label (" + tight + ")");
            assertTrue(flat < 0.2, "alpha 100: close to the IID 0.1 + noise (" + flat + ")");
        }
    }

    @Property(tries = 100)
    void aRoundsSampleIsSeededDistinctSortedAndOfTheRightSize(@ForAll @IntRange(min = 1, max = 200) int clients,
                                                               @ForAll @IntRange(min = 1, max = 200) int perRound,
                                                               @ForAll @IntRange(min = 0, max = 50) int round,
                                                               @ForAll long seed) {
        int m = Math.min(perRound, clients);
        int[] sample = Clients.sample(clients, m, 0, seed, round);
        assertEquals(m, sample.length);
        assertEquals(m, Arrays.stream(sample).distinct().count());
        assertTrue(Arrays.stream(sample).allMatch(k -> k >= 0 && k < clients));
        int[] sorted = sample.clone();
        Arrays.sort(sorted);
        assertArrayEquals(sorted, sample);
        assertArrayEquals(sample, Clients.sample(clients, m, 0, seed, round), "the seed and round decide");
    }

    @Test
    void roundsSampleDifferentClientsAndEveryClientTakesPart() {
        int[] times = new int[100];
        Set<String> samples = new HashSet<>();
        for (int round = 0; round < 200; round++) {
            int[] sample = Clients.sample(100, 10, 0, 42, round);
            samples.add(Arrays.toString(sample));
            for (int k : sample) {
                times[k]++;
            }
        }
        assertEquals(200, samples.size(), "no two rounds alike");
        // 2,000 draws over 100 clients: 20 each on average; a fair sampler keeps all within 5..40.
        assertTrue(Arrays.stream(times).allMatch(t -> t >= 5 && t <= 40), Arrays.toString(times));
    }

    @Test
    void dropoutRemovesAboutItsShareButNeverEveryone() {
        int kept = 0;
        for (int round = 0; round < 400; round++) {
            int[] sample = Clients.sample(100, 10, 0.5, 9, round);
            assertTrue(sample.length >= 1 && sample.length <= 10);
            kept += sample.length;
        }
        assertTrue(kept > 1700 && kept < 2300, "about half of 4,000 stay: " + kept);
        int[] all = Clients.sample(10, 10, 0.999, 9, 0);
        assertEquals(1, all.length, "when all would drop, one stays");
        assertFalse(Arrays.equals(Clients.sample(100, 10, 0.5, 9, 1), Clients.sample(100, 10, 0, 9, 1)));
    }
}
