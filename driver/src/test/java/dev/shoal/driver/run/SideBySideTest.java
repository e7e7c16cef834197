package dev.shoal.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.shoal.kernel.config.ConfigException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SideBySideTest {
    private static final InheritableThreadLocal<String> JOB_GROUP = new InheritableThreadLocal<>();

    @Test
    void bothRunAtOnceAndTheSecondSeesThisThreadsInheritedState() throws Exception {
        CountDownLatch bothStarted = new CountDownLatch(2);
        JOB_GROUP.set("run-42");
        var both = SideBySide.run(() -> {
            bothStarted.countDown();
            return await(bothStarted) + Thread.currentThread().getName();
        }, () -> {
            bothStarted.countDown();
            return await(bothStarted) + JOB_GROUP.get() + " on " + Thread.currentThread().getName();
        });
        assertEquals("true" + Thread.currentThread().getName(), both.first());
        assertEquals("truerun-42 on shoal-side-by-side", both.second(), "each waited for the other: side by side");
    }

    @Test
    void aFailureIsThrownAsRaisedTheFirstsBeforeTheSeconds() {
        ConfigException first = new ConfigException("data.train", "x", "first");
        ConfigException second = new ConfigException("data.test", "y", "second");
        assertSame(second, assertThrows(ConfigException.class,
                () -> SideBySide.run(() -> 1, () -> { throw second; })));
        ConfigException thrown = assertThrows(ConfigException.class,
                () -> SideBySide.run(() -> { throw first; }, () -> { throw second; }));
        assertSame(first, thrown);
        assertSame(second, thrown.getSuppressed()[0]);
    }

    private static boolean await(CountDownLatch latch) {
        try {
            return latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
