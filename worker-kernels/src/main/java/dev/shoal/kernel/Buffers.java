package dev.shoal.kernel;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Working arrays that Shoal's layer helpers and updater keep from step to step. */
final class Buffers {
    private Buffers() {
    }

    /**
     * A c-order array of this shape at the start of {@code buffer}'s memory, which is replaced only when it is too
     * small or of another type: minibatches of every size (training, the last short one, evaluation) then share
     * one allocation. Reallocating at each change of size left every old buffer to the garbage collector, which
     * frees native memory only when it collects the old generation: executor RSS grew by hundreds of MB per epoch.
     * Outside any workspace, as it outlives steps.
     */
    static INDArray reuse(INDArray buffer, INDArray like, long[] shape) {
        long length = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        DataBuffer data = buffer == null ? null : buffer.data();
        if (data == null || data.dataType() != like.dataType() || data.length() < length) {
            try (MemoryWorkspace none = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                data = Nd4j.createUninitialized(like.dataType(), length).data();
            }
        }
        return Nd4j.create(data, shape);
    }

    /** The native memory the buffers hold (0 for those not made yet). */
    static long bytes(INDArray... buffers) {
        long bytes = 0;
        for (INDArray buffer : buffers) {
            bytes += buffer == null ? 0 : buffer.data().length() * buffer.dataType().width();
        }
        return bytes;
    }
}
