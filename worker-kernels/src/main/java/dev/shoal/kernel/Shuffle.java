package dev.shoal.kernel;

import java.util.SplittableRandom;

/** Seeded permutations: the same seed gives the same order in every JVM, which makes runs repeatable. */
public final class Shuffle {
    private Shuffle() {
    }

    /** A permutation of 0..n-1 by Fisher–Yates from {@code seed}. */
    public static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Mixes a run seed with an epoch and a partition into the seed of one partition's epoch order. */
    public static long orderSeed(long runSeed, int epoch, int partition) {
        return new SplittableRandom(runSeed ^ (0x9E3779B97F4A7C15L * (epoch + 1))).split().nextLong()
                ^ (0xC2B2AE3D27D4EB4FL * (partition + 1));
    }
}
