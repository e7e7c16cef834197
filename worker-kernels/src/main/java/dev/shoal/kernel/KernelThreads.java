package dev.shoal.kernel;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * The threads kernels run on, and how many threads ND4J uses for one worker.
 *
 * <p>Small dense ops run faster on one thread than with OpenMP fan-out (11.8k vs 3.2k examples/s for the
 * Fashion-MNIST MLP measured on 2 cores), so with one worker per core the right setting is 1. OpenMP's setting is
 * per calling thread; BLAS's and ND4J's pool are per process.
 *
 * <p>Kernels run on threads of this class's, not on Spark's task threads ({@link #call}): ND4J's OpenBLAS keeps a
 * work buffer resident for every thread that ever ran a matrix product and does not give it back when the thread
 * ends (measured: +6 MB for each new thread that multiplied 512 x 512 matrices, +96 MB for 2048 x 2048, RSS
 * 345 MB -> 3.6 GB after 40 threads in turn). Spark's task threads come and go (an idle one ends after a minute
 * and the next task gets a new one), so an executor running kernels on them could grow by a buffer for every
 * thread it ever made. These threads are made only when all are busy and live as long as the JVM, so the
 * buffers are bounded by the most kernels ever run at once.
 */
public final class KernelThreads {
    private static final AtomicInteger MADE = new AtomicInteger();
    private static final ExecutorService THREADS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, Long.MAX_VALUE,
            TimeUnit.NANOSECONDS, new SynchronousQueue<>(), work -> {
                Thread thread = new Thread(work, "shoal-kernel-" + MADE.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });

    /** The OpenMP thread count this thread set, 0 if none. */
    private static final ThreadLocal<Integer> OPENMP = ThreadLocal.withInitial(() -> 0);
    /** The BLAS and ND4J thread count last set for the process, 0 if none. */
    private static int processThreads;

    private KernelThreads() {
    }

    /**
     * Runs {@code work} on one of the kernel threads and returns its result, or throws what it threw. If the
     * calling thread is interrupted (Spark killing the task), the work is interrupted too.
     */
    public static <T> T call(Callable<T> work) {
        Future<T> future = THREADS.submit(work);
        try {
            return future.get();
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a kernel ran", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Sets ND4J to {@code threads} threads for the calling thread (OpenMP) and the process (BLAS, ND4J's pool).
     * Each setting is made only when it changes: OpenBLAS's setter loads JavaCPP's native library description
     * anew at every call (properties files, URLs), and every borrowed kernel asked for it, dozens of times an
     * epoch.
     */
    public static void apply(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads per worker must be >= 1, got " + threads);
        }
        // The native library is loaded by ND4J's backend; NativeOpsHolder fails if it comes first.
        Nd4j.getBackend();
        if (OPENMP.get() != threads) {
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
            OPENMP.set(threads);
        }
        synchronized (KernelThreads.class) {
            if (processThreads != threads) {
                Nd4j.getEnvironment().setMaxThreads(threads);
                Nd4j.getEnvironment().setMaxMasterThreads(threads);
                Nd4j.factory().blas().setMaxThreads(threads);
                processThreads = threads;
            }
        }
    }
}
