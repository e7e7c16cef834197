package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * {@link KernelThreads#call}: work runs on long-lived kernel threads, as many as run at once and no more, whatever
 * thread asks; results and failures come back to the caller. {@link KernelThreads#apply}: ND4J's thread counts.
 */
class KernelThreadsTest {

    @Test
    void callersThatComeAndGoReuseKernelThreads() throws Exception {
        // Other tests in this JVM may have made kernel threads already.
        Set<Thread> before = kernelThreads();
        Set<Thread> ranOn = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < 20; i++) { // a new caller each time, as Spark's task threads come and go
            Thread caller = new Thread(() -> ranOn.add(KernelThreads.call(Thread::currentThread)));
            caller.start();
            caller.join();
        }
        Set<Thread> after = kernelThreads();
        // A kernel thread completes the caller's future a moment before it waits for work again, so the next
        // caller may find none waiting and get a new one; then two are idle and the race is over. Twenty callers
        // must not make more than two threads (a thread per caller would make twenty).
        assertTrue(after.size() - before.size() <= 2, "callers one at a time reuse kernel threads: " + before
                + " -> " + after);
        assertTrue(after.containsAll(ranOn), "ran on kernel threads only: " + ranOn);
        for (Thread kernel : ranOn) {
            assertTrue(kernel.isAlive() && kernel.isDaemon(), kernel.toString());
        }
    }

    private static Set<Thread> kernelThreads() {
        Set<Thread> threads = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("shoal-kernel-")) {
                threads.add(t);
            }
        }
        return threads;
    }

    /** Work that waits for other work must get threads of its own (gradient sharing's peers wait for each other). */
    @Test
    void concurrentCallersRunAtTheSameTime() throws Exception {
        CyclicBarrier together = new CyclicBarrier(3);
        Set<Thread> ranOn = ConcurrentHashMap.newKeySet();
        Runnable meet = () -> ranOn.add(KernelThreads.call(() -> {
            together.await(30, TimeUnit.SECONDS);
            return Thread.currentThread();
        }));
        List<Thread> callers = List.of(new Thread(meet), new Thread(meet), new Thread(meet));
        callers.forEach(Thread::start);
        for (Thread caller : callers) {
            caller.join();
        }
        assertEquals(3, ranOn.size(), "three kernel threads met at the barrier: " + ranOn);
    }

    @Test
    void theWorksFailureReachesTheCallerAsItWasThrown() {
        IllegalArgumentException thrown = new IllegalArgumentException("loss is NaN at step 3");
        assertSame(thrown, assertThrows(IllegalArgumentException.class, () -> KernelThreads.call(() -> {
            throw thrown;
        })));
    }

    /** Settings made only when they change must still follow every change, per thread and per process. */
    @Test
    void applyLeavesTheCallersThreadCountsInForce() throws Exception {
        try {
            KernelThreads.apply(2);
            KernelThreads.apply(2);
            assertThreads(2);
            int[] seen = new int[1];
            Thread same = new Thread(() -> {
                KernelThreads.apply(2);
                seen[0] = openMpThreads();
            });
            same.start();
            same.join();
            assertEquals(2, seen[0], "a thread's OpenMP setting is made on that thread");
            Thread other = new Thread(() -> KernelThreads.apply(1));
            other.start();
            other.join();
            assertEquals(2, openMpThreads(), "another thread's OpenMP setting is its own");
            assertEquals(1, Nd4j.factory().blas().getMaxThreads(), "the process-wide settings follow the last call");
            KernelThreads.apply(2);
            assertThreads(2);
            KernelThreads.apply(1);
            assertThreads(1);
        } finally {
            KernelThreads.apply(1);
        }
    }

    private static void assertThreads(int threads) {
        assertEquals(threads, openMpThreads(), "OpenMP");
        assertEquals(threads, Nd4j.factory().blas().getMaxThreads(), "BLAS");
        // ND4J's Environment is not asserted: libnd4j 1.0.0-M2.1 keeps maxThreads at its pool's size whatever is
        // set, and maxMasterThreads at most that (1 where OMP_NUM_THREADS=1).
    }

    private static int openMpThreads() {
        return NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
    }
}
