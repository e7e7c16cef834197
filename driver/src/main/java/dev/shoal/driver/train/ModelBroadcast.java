package dev.shoal.driver.train;

import dev.shoal.kernel.Checksum;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import java.io.Serializable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * A model the driver sends to the executors for a stage: broadcast, but fetched only by an executor that does not
 * hold it already as its {@link ResidentModel}, which it recognizes by the SHA-256 of the model's bytes.
 *
 * @param bytes  the model in {@link SnapshotCodec}'s bytes
 * @param sha256 their SHA-256
 * @param epoch  the model's epoch counter, which a stage that starts an epoch sets on the model it continues from
 */
record ModelBroadcast(Broadcast<byte[]> bytes, String sha256, int epoch) implements Serializable {

    static ModelBroadcast of(JavaSparkContext sc, ModelSnapshot model) {
        byte[] encoded = SnapshotCodec.encode(model);
        return new ModelBroadcast(sc.broadcast(encoded), Checksum.sha256(encoded), model.epoch());
    }

    /** On an executor: the model, the kept one if it is this model, else decoded from the fetched broadcast. */
    ModelSnapshot value() {
        return ResidentModel.find(sha256, epoch).orElseGet(() -> SnapshotCodec.decode(bytes.value()));
    }

    /** Frees the broadcast, on the driver and on every executor, once the stage is over. */
    void destroy() {
        bytes.destroy();
    }
}
