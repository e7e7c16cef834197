package dev.shoal.driver.train;

import dev.shoal.kernel.Augmentation;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.KernelPool;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.Target;
import dev.shoal.kernel.WorkerResult;
import java.io.Serializable;
import java.util.Iterator;
import java.util.List;

/**
 * The immutable part of a round that executors need, copied out of the plan before the closure is built so no
 * driver object travels. {@link #train} and {@link #evaluate} run on executors, once per partition.
 */
record RoundTask(String networkJson, Target target, int threads, int batchSize, Augmentation augmentation,
                 long seed) implements Serializable {

    Iterator<WorkerResult> train(int partition, byte[] snapshot, int epoch, int firstBatch, int steps,
                                 Iterator<ExampleBlock> blocks) {
        ModelSnapshot start = SnapshotCodec.decode(snapshot);
        WorkerResult result = WorkerResult.empty();
        long order = Shuffle.orderSeed(seed, epoch, partition);
        while (blocks.hasNext()) {
            ExampleBlock block = blocks.next();
            try (KernelPool.Lease lease = KernelPool.borrow(networkJson, target, threads)) {
                lease.kernel().seedRandom(order + firstBatch);
                var batches = block.batches(order, batchSize, firstBatch, steps);
                result = result.merge(lease.kernel().train(start, augmentation.apply(batches, order + firstBatch)));
            }
        }
        return List.of(result).iterator();
    }

    Iterator<EvalResult> evaluate(byte[] snapshot, Iterator<ExampleBlock> blocks) {
        ModelSnapshot model = SnapshotCodec.decode(snapshot);
        EvalResult result = EvalResult.empty();
        while (blocks.hasNext()) {
            try (KernelPool.Lease lease = KernelPool.borrow(networkJson, target, threads)) {
                result = result.merge(lease.kernel().evaluate(model, blocks.next().inOrder(EVAL_BATCH)));
            }
        }
        return List.of(result).iterator();
    }

    /** Evaluation batch size: only speed depends on it. */
    private static final int EVAL_BATCH = 256;
}
