package dev.shoal.driver.train;

import dev.shoal.kernel.Augmentation;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.KernelPool;
import dev.shoal.kernel.KernelThreads;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.Target;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.WorkerResult;
import dev.shoal.kernel.WorkerResultCodec;
import dev.shoal.kernel.config.KernelOptions;
import java.io.Serializable;
import dev.shoal.kernel.MiniBatch;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The immutable part of a round that executors need, copied out of the plan before the closure is built so no
 * driver object travels. {@link #train} and {@link #evaluate} run on executors, once per partition, their kernels
 * on {@link KernelThreads}.
 */
record RoundTask(String networkJson, Target target, int threads, int batchSize, Augmentation augmentation,
                 long seed, KernelOptions kernel) implements Serializable {

    Iterator<WorkerResult> train(int partition, byte[] snapshot, int epoch, int firstBatch, int steps,
                                 Iterator<ExampleBlock> blocks) {
        List<ExampleBlock> mine = drain(blocks);
        return List.of(KernelThreads.call(
                () -> trainRound(partition, SnapshotCodec.decode(snapshot), epoch, firstBatch, steps, mine)))
                .iterator();
    }

    /** Partition {@code partition}'s share of a round from {@code start}; on a kernel thread. */
    WorkerResult trainRound(int partition, ModelSnapshot start, int epoch, int firstBatch, int steps,
                            List<ExampleBlock> mine) {
        WorkerResult result = WorkerResult.empty();
        for (ExampleBlock block : mine) {
            result = result.merge(trainBlock(partition, start, epoch, firstBatch, steps, block, WorkerKernel::train));
        }
        return result;
    }

    /**
     * {@link #trainRound}'s result in {@link WorkerResultCodec}'s bytes; a partition of one block (as averaging
     * stages have) has them written straight from the network, without the arrays its result would take, into
     * {@code reuse} where it has their size.
     */
    byte[] trainRoundEncoded(int partition, ModelSnapshot start, int epoch, int firstBatch, int steps,
                             List<ExampleBlock> mine, byte[] reuse) {
        if (mine.size() != 1) {
            return WorkerResultCodec.encode(trainRound(partition, start, epoch, firstBatch, steps, mine));
        }
        return trainBlock(partition, start, epoch, firstBatch, steps, mine.get(0),
                (kernel, from, batches) -> kernel.trainEncoded(from, batches, reuse));
    }

    /** {@code train} (a kernel's training method) on a block's share of a round, in the partition's order. */
    private <T> T trainBlock(int partition, ModelSnapshot start, int epoch, int firstBatch, int steps,
                             ExampleBlock block, KernelTraining<T> train) {
        long order = Shuffle.orderSeed(seed, epoch, partition);
        try (KernelPool.Lease lease = KernelPool.borrow(networkJson, target, threads, kernel)) {
            lease.kernel().seedRandom(order + firstBatch);
            var batches = block.batches(order, batchSize, firstBatch, steps);
            return train.apply(lease.kernel(), start, augmentation.apply(batches, order + firstBatch));
        }
    }

    /** One of a kernel's training methods. */
    private interface KernelTraining<T> {
        T apply(WorkerKernel kernel, ModelSnapshot start, Iterator<MiniBatch> batches);
    }

    /**
     * Federated averaging: client {@code client}'s {@code localEpochs} passes over its block in round
     * {@code round}, from {@code start}. The first pass draws its order and augmentation as averaging's
     * {@link #train} does for partition {@code client} in epoch {@code round}; later passes draw fresh ones.
     */
    WorkerResult trainClient(int client, ModelSnapshot start, int round, int batch, int localEpochs,
                             ExampleBlock block) {
        long order = Shuffle.orderSeed(seed, round, client);
        List<Iterator<MiniBatch>> passes = new ArrayList<>();
        for (int pass = 0; pass < localEpochs; pass++) {
            long passOrder = pass == 0 ? order : Shuffle.orderSeed(order, pass, client);
            passes.add(augmentation.apply(block.batches(passOrder, batch, 0, block.batchCount(batch)), passOrder));
        }
        return KernelThreads.call(() -> {
            try (KernelPool.Lease lease = KernelPool.borrow(networkJson, target, threads, kernel)) {
                lease.kernel().seedRandom(order);
                return lease.kernel().train(start, concat(passes.iterator()));
            }
        });
    }

    /** The batches of {@code passes}, one pass after the other, drawn as they are needed. */
    private static Iterator<MiniBatch> concat(Iterator<Iterator<MiniBatch>> passes) {
        return new Iterator<>() {
            private Iterator<MiniBatch> current = Collections.emptyIterator();

            @Override
            public boolean hasNext() {
                while (!current.hasNext() && passes.hasNext()) {
                    current = passes.next();
                }
                return current.hasNext();
            }

            @Override
            public MiniBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return current.next();
            }
        };
    }

    Iterator<EvalResult> evaluate(ModelBroadcast snapshot, Iterator<ExampleBlock> blocks) {
        List<ExampleBlock> mine = drain(blocks);
        return List.of(KernelThreads.call(() -> evaluate(snapshot.value(), mine))).iterator();
    }

    /** {@code model} evaluated on {@code blocks}, on the calling thread (a kernel thread). */
    EvalResult evaluate(ModelSnapshot model, List<ExampleBlock> blocks) {
        try (KernelPool.Lease lease = KernelPool.borrow(networkJson, target, threads, kernel)) {
            return evaluate(lease.kernel(), model, blocks);
        }
    }

    /** {@code model} evaluated on {@code blocks} with {@code kernel}, in batches of {@value #EVAL_BATCH}. */
    static EvalResult evaluate(WorkerKernel kernel, ModelSnapshot model, List<ExampleBlock> blocks) {
        EvalResult result = EvalResult.empty();
        for (ExampleBlock block : blocks) {
            result = result.merge(kernel.evaluate(model, block.inOrder(EVAL_BATCH)));
        }
        return result;
    }

    /** A partition's blocks (usually one), read on the task's own thread before a kernel thread takes over. */
    static List<ExampleBlock> drain(Iterator<ExampleBlock> blocks) {
        List<ExampleBlock> list = new ArrayList<>();
        blocks.forEachRemaining(list::add);
        return list;
    }

    /** Evaluation batch size: only speed depends on it. */
    private static final int EVAL_BATCH = 256;
}
