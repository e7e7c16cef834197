package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.shoal.kernel.config.UpdaterType;
import org.junit.jupiter.api.Test;

/** The per-JVM kernel cache: a network is built once and reused; networks not used lately are let go. */
class KernelPoolTest {

    /** The test network with an L1 penalty of {@code i}e-6: a distinct network for each i. */
    private static String network(int i) {
        return KernelFixtures.networkJson(UpdaterType.SGD, i * 1e-6);
    }

    private static WorkerKernel borrowAndReturn(String json) {
        try (KernelPool.Lease lease = KernelPool.borrow(json, Target.CLASS, 1)) {
            return lease.kernel();
        }
    }

    @Test
    void aReturnedKernelIsReusedAndTheLeastRecentlyUsedNetworksAreLetGo() {
        WorkerKernel first = borrowAndReturn(network(1));
        assertSame(first, borrowAndReturn(network(1)), "a returned kernel serves the next round");
        try (KernelPool.Lease a = KernelPool.borrow(network(1), Target.CLASS, 1);
             KernelPool.Lease b = KernelPool.borrow(network(1), Target.CLASS, 1)) {
            assertNotSame(a.kernel(), b.kernel(), "concurrent tasks each get their own");
        }

        for (int i = 2; i <= KernelPool.NETWORKS_KEPT + 1; i++) {
            borrowAndReturn(network(i));
        }
        int built = KernelPool.built();
        borrowAndReturn(network(KernelPool.NETWORKS_KEPT + 1));
        assertEquals(built, KernelPool.built(), "the network used last is still there");
        borrowAndReturn(network(1));
        assertEquals(built + 1, KernelPool.built(), "the one used longest ago was let go and is built again");
    }
}
