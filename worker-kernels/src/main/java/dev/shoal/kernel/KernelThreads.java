package dev.shoal.kernel;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Sets how many threads ND4J uses for one worker. Small dense ops run faster on one thread than with OpenMP
 * fan-out (11.8k vs 3.2k examples/s for the Fashion-MNIST MLP measured on 2 cores), so with one worker per
 * core the right setting is 1. OpenMP's setting is per calling thread; BLAS's and ND4J's pool are per process.
 */
public final class KernelThreads {
    private KernelThreads() {
    }

    public static void apply(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads per worker must be >= 1, got " + threads);
        }
        // The native library is loaded by ND4J's backend; NativeOpsHolder fails if it comes first.
        Nd4j.getBackend();
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
    }
}
