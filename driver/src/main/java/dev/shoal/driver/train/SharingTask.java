package dev.shoal.driver.train;

import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.kernel.Augmentation;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.KernelPool;
import dev.shoal.kernel.KernelThreads;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.MiniBatch;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.Target;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.KernelOptions;
import dev.shoal.kernel.sharing.PeerGroup;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.BarrierTaskContext;

/**
 * One worker of a gradient-sharing stage, run on an executor inside a Spark barrier stage (so all workers run
 * at once): learn the peers' addresses from the driver's {@link Rendezvous}, connect to them, then for each step
 * compute the local gradient, encode it, exchange it, and apply the sum of all workers' gradients with the same
 * updater, which divides it by the examples behind it (DL4J's gradients are minibatch sums): one step on the
 * workers' combined minibatch.
 * Reduction is by rank (threshold) or by the ring's fixed chunk owners (dense), so every replica computes the
 * same bits. Every connection, to the rendezvous and between peers, first proves it holds the run's
 * {@code secret}.
 */
record SharingTask(String networkJson, Target target, int threads, int batchSize, Augmentation augmentation,
                   long seed, SharingConfig sharing, WorkerFault fault, byte[] secret, KernelOptions kernel)
        implements Serializable {

    /** Whether this JVM has already carried out the injected {@link WorkerFault}. */
    private static final AtomicBoolean KILLED = new AtomicBoolean();

    /**
     * Runs this worker's part of a stage. {@code residuals} holds, by rank, what each worker's threshold encoder
     * had not sent when the previous stage ended (an empty array, or no entry, for none).
     */
    Iterator<StageResult> run(Rendezvous.Address rendezvous, String stage, ModelBroadcast snapshot,
                              float[][] residuals, int epoch, int steps,
                              Iterator<BarrierStages.WorkerBlocks> input) {
        BarrierTaskContext context = BarrierTaskContext.get();
        int rank = context.partitionId();
        int size = context.getTaskInfos().length;
        Duration timeout = Duration.ofSeconds(sharing.peerTimeoutSeconds());
        BarrierStages.WorkerBlocks blocks = input.next();
        ExampleBlock block = blocks.train().get(0);
        ModelSnapshot start = snapshot.value();
        float[] residual = rank < residuals.length ? residuals[rank] : new float[0];
        try (PeerGroup peers = rendezvous.connectPeers(stage, rank, size, timeout, secret)) {
            return List.of(KernelThreads.call(() -> {
                try (KernelPool.Lease lease = KernelPool.borrow(networkJson, target, threads, kernel)) {
                    return steps(lease.kernel(), peers, start, residual, block, blocks.test(), epoch, steps).result();
                }
            })).iterator();
        }
    }

    /**
     * An epoch a {@link WorkerSession} asks for: {@code steps} steps of {@code epoch} from {@code model} (encoded),
     * or, when null, from the model the worker ended the last request with, whose parameters hash to
     * {@code startHash}; {@code residuals} as {@link #run} takes them, or null for the worker's own from the last
     * request.
     */
    record Request(int epoch, int steps, byte[] model, int startHash, float[][] residuals) implements Serializable {
    }

    /**
     * Serves a {@link WorkerSession}: each {@link Request}'s epoch, as {@link #run} trains it, from the model and
     * residual the request carries or this worker holds, then the epoch's model evaluated on the test blocks.
     */
    Iterator<Integer> serve(Rendezvous.Address rendezvous, WorkerSession.Address at, String session,
                            Iterator<BarrierStages.WorkerBlocks> input) {
        Duration timeout = Duration.ofSeconds(sharing.peerTimeoutSeconds());
        return WorkerSession.serve(rendezvous, at, session, secret, timeout, Request.class, input,
                (rank, peers, blocks) -> new WorkerSession.Server<Request, StageResult>() {
                    private final KernelPool.Lease lease = KernelPool.borrow(networkJson, target, threads, kernel);
                    private ModelSnapshot held;
                    private float[] residual;

                    @Override
                    public StageResult answer(Request r) {
                        ModelSnapshot start = WorkerSession.startModel(r.model(), held, r.startHash(), rank,
                                "epoch " + (r.epoch() + 1)).atEpoch(r.epoch());
                        if (r.residuals() != null) {
                            residual = rank < r.residuals().length ? r.residuals()[rank] : new float[0];
                        }
                        Ended ended = steps(lease.kernel(), peers, start, residual, blocks.train().get(0),
                                blocks.test(), r.epoch(), r.steps());
                        held = ended.model();
                        residual = ended.result().residual();
                        return ended.result();
                    }

                    @Override
                    public void close() {
                        lease.close();
                    }
                });
    }

    /** What a worker reports after a stage's steps, and the model it ended with. */
    private record Ended(StageResult result, ModelSnapshot model) {
    }

    /** The stage's steps, then the last model's evaluation on {@code test} (none without test blocks). */
    private Ended steps(WorkerKernel kernel, PeerGroup peers, ModelSnapshot start, float[] residual,
                              ExampleBlock block, List<ExampleBlock> test, int epoch, int steps) {
        int rank = peers.rank();
        kernel.start(start);
        GradientExchange exchange = GradientExchange.of(sharing, kernel.numParams(), residual);
        long order = Shuffle.orderSeed(seed, epoch, rank);
        kernel.seedRandom(order);
        Iterator<MiniBatch> batches = augmentation.apply(block.batches(order, batchSize, 0, steps), order);
        float[] gradient = new float[kernel.numParams()];
        List<Integer> hashes = new ArrayList<>();
        StepLog log = new StepLog(steps);
        long examples = 0;
        double lossSum = 0;
        for (int step = 0; step < steps; step++) {
            if (fault.strikes(rank, step) && KILLED.compareAndSet(false, true)) {
                peers.close();
                throw new IllegalStateException("worker " + rank + " killed at step " + step + " by " + fault);
            }
            long t0 = System.nanoTime();
            int rows = 0;
            double loss = 0;
            long bytesBefore = peers.bytesSent();
            if (batches.hasNext()) { // a worker out of batches still takes part, with an empty gradient
                MiniBatch batch = batches.next();
                rows = batch.rows();
                loss = kernel.gradient(batch, gradient);
                lossSum += loss * rows;
            } else {
                Arrays.fill(gradient, 0);
            }
            examples += rows;
            long t1 = System.nanoTime();
            GradientExchange.Step exchanged = exchange.exchange(gradient, rows, peers);
            long t2 = System.nanoTime();
            if (exchanged.examples() > 0) {
                kernel.step(exchange.sum(), exchanged.examples());
            }
            long t3 = System.nanoTime();
            if (sharing.verifyReplicas()) {
                hashes.add(Arrays.hashCode(kernel.snapshot().params()));
            }
            log.record(step, t1 - t0, exchanged.encodeNanos(), exchanged.exchangeNanos(), t3 - t2,
                    peers.bytesSent() - bytesBefore, exchanged.sent(), exchanged.threshold(), loss, rows);
        }
        ModelSnapshot end = kernel.snapshot();
        ResidentModel.keep(end);
        long evaluationStart = System.nanoTime();
        EvalResult evaluation = test.isEmpty() ? null : RoundTask.evaluate(kernel, end, test);
        long evaluationNanos = System.nanoTime() - evaluationStart;
        byte[] model = rank == 0 ? SnapshotCodec.encode(end) : new byte[0];
        return new Ended(new StageResult(rank, model, Arrays.hashCode(end.params()), hashes, exchange.residual(),
                examples, lossSum, log, MemoryUse.now(), evaluation, evaluationNanos), end);
    }
}
