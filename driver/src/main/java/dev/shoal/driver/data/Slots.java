package dev.shoal.driver.data;

import dev.shoal.kernel.Shuffle;
import java.io.Serializable;

/**
 * A share of a file's records (texts, windows of characters): those whose slot, in the permutation of all
 * {@code records} drawn from {@code seed}, lies in {@code [from, from + examples)}. A file without a separate
 * test file is split this way: the first slots are the test set, the rest the training set.
 */
record Slots(int records, long seed, int from, int examples) implements Serializable {

    /**
     * The training share of {@code records}: all of them when the test set is another file, else all but the
     * {@code holdout} fraction; cut to {@code limit} when it is positive.
     */
    static Slots training(int records, boolean separateTest, double holdout, int limit, long seed) {
        int held = separateTest ? 0 : (int) Math.round(holdout * records);
        int examples = records - held;
        return new Slots(records, seed, held, limit > 0 ? Math.min(limit, examples) : examples);
    }

    /** Every record of a file. */
    static Slots all(int records, long seed) {
        return new Slots(records, seed, 0, records);
    }

    /** The slots before this share: the held-out test set of a training share. */
    Slots heldOut() {
        return new Slots(records, seed, 0, from);
    }

    /** For each record, whether it belongs to this share. */
    boolean[] members() {
        int[] slotOf = Shuffle.permutation(records, seed);
        boolean[] member = new boolean[records];
        for (int i = 0; i < records; i++) {
            member[i] = slotOf[i] >= from && slotOf[i] < from + examples;
        }
        return member;
    }

    /**
     * For each record, its row in block {@code partition} of {@code partitions}, or -1 if another block (or no
     * block) holds it: the share is placed on blocks by a second permutation, drawn from {@code placeSeed}.
     */
    int[] rows(int partition, int partitions, long placeSeed) {
        int[] slotOf = Shuffle.permutation(records, seed);
        int[] placeOf = Shuffle.permutation(examples, placeSeed);
        int first = DataSource.start(partition, partitions, examples);
        int size = blockSize(partition, partitions);
        int[] row = new int[records];
        for (int i = 0; i < records; i++) {
            int slot = slotOf[i] - from;
            int r = slot >= 0 && slot < examples ? placeOf[slot] - first : -1;
            row[i] = r >= 0 && r < size ? r : -1;
        }
        return row;
    }

    /** Examples in block {@code partition} of {@code partitions}. */
    int blockSize(int partition, int partitions) {
        return DataSource.start(partition + 1, partitions, examples)
                - DataSource.start(partition, partitions, examples);
    }
}
