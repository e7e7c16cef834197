package dev.shoal.driver.train;

import dev.shoal.kernel.Checksum;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The model an executor's workers ended their last stage with (averaging on the workers, gradient sharing), kept in
 * the executor's JVM so that what comes next from that very model (the next stage, the epoch's evaluation) need
 * not fetch and decode it again: on the local cluster, fetching a Fashion-MNIST MLP's broadcast (2.8 MB) took
 * 29-67 ms of each stage's start. Named by the SHA-256 of its encoded bytes, which the driver computes on the
 * model it sends ({@link ModelBroadcast}): the kept model is used only when that name is its own, and the
 * broadcast fetched otherwise (a new executor, a stage after a failure, the first stage of a run). One model per
 * JVM; workers that share a JVM (local mode) end a stage with the same bits.
 */
final class ResidentModel {
    private static ModelSnapshot kept;
    /** The kept model with its epoch counter set as last asked, and its SHA-256 (workers of one JVM ask alike). */
    private static ModelSnapshot named;
    private static String namedSha256;
    private static final AtomicLong USES = new AtomicLong();

    private ResidentModel() {
    }

    /** Keeps {@code model} in place of the one before. */
    static synchronized void keep(ModelSnapshot model) {
        kept = model;
        named = null;
    }

    /**
     * The kept model, with its epoch counter set to {@code epoch} (a stage that starts an epoch continues from the
     * last one's model), if its encoded bytes then have the SHA-256 {@code sha256}.
     */
    static synchronized Optional<ModelSnapshot> find(String sha256, int epoch) {
        if (kept == null) {
            return Optional.empty();
        }
        if (named == null || named.epoch() != epoch) {
            named = kept.atEpoch(epoch);
            namedSha256 = Checksum.sha256(SnapshotCodec.encode(named));
        }
        if (!namedSha256.equals(sha256)) {
            return Optional.empty();
        }
        USES.incrementAndGet();
        return Optional.of(named);
    }

    /** How many times a stage in this JVM started from the kept model. */
    static long uses() {
        return USES.get();
    }
}
