package dev.shoal.driver.train;

import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.GammaDistribution;
import org.apache.commons.math3.random.Well19937c;

/**
 * Federated averaging's clients: which client each training example belongs to, and which clients take part in
 * a round. Everything is drawn from the run's seed, so the same plan deals and samples alike on any machine.
 */
final class Clients {
    private Clients() {
    }

    /**
     * McMahan et al.'s pathological non-IID split: the examples sorted by label (ties in data order), cut into
     * {@code clients × shardsPerClient} shards of equal size (±1), and each client given {@code shardsPerClient}
     * shards drawn at random. A shard holds one label unless it straddles a class boundary: where no class is
     * smaller than a shard, a client holds at most {@code 2 × shardsPerClient} labels, and at most
     * {@code shardsPerClient} when every class's count is a multiple of the shard size.
     *
     * @return for each example, by its position in {@code labels}, its client
     */
    static int[] shards(int[] labels, int clients, int shardsPerClient, long seed) {
        int shards = clients * shardsPerClient;
        if (labels.length < shards) {
            throw new ConfigException("sync.federated.shards-per-client", shardsPerClient, clients + " clients x "
                    + shardsPerClient + " = " + shards + " shards, more than the " + labels.length
                    + " training examples");
        }
        Integer[] byLabel = new Integer[labels.length];
        Arrays.setAll(byLabel, i -> i);
        Arrays.sort(byLabel, (a, b) -> labels[a] != labels[b] ? Integer.compare(labels[a], labels[b])
                : Integer.compare(a, b));
        int[] owner = Shuffle.permutation(shards, seed); // shard s goes to client owner[s] / shardsPerClient
        int[] client = new int[labels.length];
        for (int s = 0; s < shards; s++) {
            int from = (int) ((long) s * labels.length / shards);
            int to = (int) ((long) (s + 1) * labels.length / shards);
            for (int i = from; i < to; i++) {
                client[byLabel[i]] = owner[s] / shardsPerClient;
            }
        }
        return client;
    }

    /**
     * Label skew after Hsu et al. (2019): for each class, proportions over the clients drawn from a symmetric
     * Dirichlet({@code alpha}), and that class's examples (in a seeded order) cut by them. Small alpha gives each
     * client few classes; large alpha approaches an IID split. A client left without examples takes one from
     * the largest client, so that every client can train.
     *
     * @return for each example, by its position in {@code labels}, its client
     */
    static int[] dirichlet(int[] labels, int classes, int clients, double alpha, long seed) {
        if (labels.length < clients) {
            throw new IllegalArgumentException(labels.length + " examples cannot give " + clients
                    + " clients one each");
        }
        GammaDistribution gamma = new GammaDistribution(new Well19937c(new SplittableRandom(seed).nextLong()),
                alpha, 1);
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < labels.length; i++) {
            byClass.get(labels[i]).add(i);
        }
        int[] client = new int[labels.length];
        List<List<Integer>> held = new ArrayList<>();
        for (int k = 0; k < clients; k++) {
            held.add(new ArrayList<>());
        }
        for (int c = 0; c < classes; c++) {
            List<Integer> members = byClass.get(c);
            int[] order = Shuffle.permutation(members.size(), seed ^ (0x9E3779B97F4A7C15L * (c + 1)));
            double[] share = new double[clients];
            double total = 0;
            for (int k = 0; k < clients; k++) {
                share[k] = gamma.sample();
                total += share[k];
            }
            double cumulative = 0;
            int from = 0;
            for (int k = 0; k < clients; k++) {
                cumulative += share[k];
                int to = k == clients - 1 ? members.size() : (int) Math.round(cumulative / total * members.size());
                for (int i = from; i < to; i++) {
                    int example = members.get(order[i]);
                    client[example] = k;
                    held.get(k).add(example);
                }
                from = Math.max(from, to);
            }
        }
        for (int k = 0; k < clients; k++) {
            if (held.get(k).isEmpty()) {
                List<Integer> largest = held.stream().max((a, b) -> Integer.compare(a.size(), b.size())).orElseThrow();
                int example = largest.remove(largest.size() - 1);
                client[example] = k;
                held.get(k).add(example);
            }
        }
        return client;
    }

    /**
     * The clients that train in round {@code round} (0-based), ascending: {@code perRound} of {@code clients}
     * drawn without replacement, then each dropped with probability {@code dropout}; when all would drop, the
     * first drawn stays.
     */
    static int[] sample(int clients, int perRound, double dropout, long seed, int round) {
        SplittableRandom random = new SplittableRandom(Shuffle.orderSeed(seed, round, -2));
        int[] pool = new int[clients];
        Arrays.setAll(pool, i -> i);
        for (int i = 0; i < perRound; i++) {
            int j = i + random.nextInt(clients - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
        }
        int[] kept = Arrays.stream(pool, 0, perRound).filter(k -> !(random.nextDouble() < dropout)).toArray();
        int[] chosen = kept.length > 0 ? kept : new int[] {pool[0]};
        Arrays.sort(chosen);
        return chosen;
    }
}
