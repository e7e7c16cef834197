package dev.shoal.kernel;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-JVM cache of {@link WorkerKernel}s, so an executor builds each network once for the whole run instead of
 * once per round. Concurrent tasks in one executor each borrow their own kernel; a returned kernel goes back to
 * the pool for the next round.
 */
public final class KernelPool {
    private static final Logger LOG = LoggerFactory.getLogger(KernelPool.class);
    private static final Map<String, Queue<WorkerKernel>> IDLE = new ConcurrentHashMap<>();
    private static final AtomicInteger BUILT = new AtomicInteger();
    private static volatile int appliedThreads = -1;

    private KernelPool() {
    }

    /**
     * A kernel for the network in {@code networkJson} learning {@code target}, with ND4J set to {@code threads}
     * threads per worker.
     */
    public static Lease borrow(String networkJson, Target target, int threads) {
        applyThreads(threads);
        String key = target + " " + networkJson;
        WorkerKernel kernel = IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>()).poll();
        if (kernel == null) {
            kernel = new WorkerKernel(networkJson, target);
            LOG.info("built network #{} in this JVM", BUILT.incrementAndGet());
        }
        return new Lease(key, kernel);
    }

    /** Number of networks this JVM has built so far. */
    public static int built() {
        return BUILT.get();
    }

    private static void applyThreads(int threads) {
        KernelThreads.apply(threads);
        if (appliedThreads != threads) {
            appliedThreads = threads;
            LOG.info("ND4J set to {} thread(s) per worker (OpenMP, BLAS and ND4J's own pool)", threads);
        }
    }

    /** A borrowed kernel; closing it returns the kernel to the pool. */
    public static final class Lease implements AutoCloseable {
        private final String key;
        private final WorkerKernel kernel;

        private Lease(String key, WorkerKernel kernel) {
            this.key = key;
            this.kernel = kernel;
        }

        public WorkerKernel kernel() {
            return kernel;
        }

        @Override
        public void close() {
            IDLE.get(key).add(kernel);
        }
    }
}
