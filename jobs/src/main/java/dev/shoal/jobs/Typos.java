package dev.shoal.jobs;

/** Decides whether a mistyped key is close enough to a known one to suggest it. */
final class Typos {
    private Typos() {
    }

    /** True when the edit distance is at most 2, or at most a third of the key's length for long keys. */
    static boolean close(String known, String typed) {
        int limit = Math.max(2, known.length() / 3);
        return distance(known, typed) <= limit;
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
