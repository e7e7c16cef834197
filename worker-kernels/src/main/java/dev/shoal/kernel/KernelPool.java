package dev.shoal.kernel;

import dev.shoal.kernel.config.KernelOptions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-JVM cache of {@link WorkerKernel}s, so an executor builds each network once for the whole run instead of
 * once per round. Concurrent tasks in one executor each borrow their own kernel; a returned kernel goes back to
 * the pool for the next round. Idle kernels are kept for the {@link #NETWORKS_KEPT} networks used last: an
 * executor that lives through many runs (shoal tune's trials, an application fitting several models) lets go
 * of the others' networks and their native memory.
 */
public final class KernelPool {
    private static final Logger LOG = LoggerFactory.getLogger(KernelPool.class);
    /** Distinct networks whose idle kernels are kept. */
    static final int NETWORKS_KEPT = 4;
    /** Idle kernels by network, the network used longest ago first; guarded by the class lock. */
    private static final Map<String, Deque<WorkerKernel>> IDLE = new LinkedHashMap<>(16, 0.75f, true);
    private static final AtomicInteger BUILT = new AtomicInteger();
    private static volatile int appliedThreads = -1;

    private KernelPool() {
    }

    /**
     * A kernel for the network in {@code networkJson} learning {@code target}, with ND4J set to {@code threads}
     * threads per worker.
     */
    public static Lease borrow(String networkJson, Target target, int threads) {
        return borrow(networkJson, target, threads, KernelOptions.ALL);
    }

    /** A kernel as {@link #borrow(String, Target, int)} gives, with only the speed-ups {@code options} allows. */
    public static Lease borrow(String networkJson, Target target, int threads, KernelOptions options) {
        JitDirectives.install();
        applyThreads(threads);
        String key = target + " " + options + " " + networkJson;
        WorkerKernel kernel = idle(key);
        if (kernel == null) {
            kernel = new WorkerKernel(networkJson, target, options);
            LOG.info("built network #{} in this JVM", BUILT.incrementAndGet());
        }
        return new Lease(key, kernel);
    }

    private static synchronized WorkerKernel idle(String key) {
        Deque<WorkerKernel> kernels = IDLE.get(key);
        return kernels == null ? null : kernels.poll();
    }

    private static synchronized void giveBack(String key, WorkerKernel kernel) {
        IDLE.computeIfAbsent(key, k -> new ArrayDeque<>()).push(kernel);
        Iterator<String> oldest = IDLE.keySet().iterator();
        while (IDLE.size() > NETWORKS_KEPT) {
            oldest.next();
            oldest.remove();
        }
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
            giveBack(key, kernel);
        }
    }
}
