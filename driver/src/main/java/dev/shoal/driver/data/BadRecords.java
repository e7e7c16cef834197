package dev.shoal.driver.data;

import java.io.Serializable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a reader does with a record it cannot use (a label out of range, a missing value, an image it cannot
 * decode): fail the load with the record's {@link DataFormatException}, or, with {@code data.skip-bad-records},
 * leave the record out and log why. A source's blocks then hold fewer examples than its slots; the driver counts
 * the difference. Damage to a whole file (truncated, not the format) fails either way.
 */
public record BadRecords(boolean skip) implements Serializable {
    public static final BadRecords FAIL = new BadRecords(false);
    private static final Logger LOG = LoggerFactory.getLogger(BadRecords.class);

    /**
     * Whether a record's {@code label} is a class index. A record with another label is rejected: when skipping,
     * only by the block that holds it ({@code mine}), so that it is logged once; when failing, by any block.
     */
    public boolean isClass(int label, int classes, String file, int record, boolean mine) {
        if (label < classes) {
            return true;
        }
        if (mine || !skip) {
            reject(new DataFormatException("labels must be in [0, " + (classes - 1) + "], but got " + label + " at "
                    + file + " record " + record));
        }
        return false;
    }

    /** Throws {@code problem}, or logs it when bad records are skipped. */
    public void reject(DataFormatException problem) {
        if (!skip) {
            throw problem;
        }
        LOG.warn("skipped a bad record: {}", problem.getMessage());
    }
}
