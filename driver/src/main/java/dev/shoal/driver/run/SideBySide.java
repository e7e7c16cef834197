package dev.shoal.driver.run;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * Two pieces of driver work at once: a run's training and test sets open, then load, side by side, Spark running
 * the jobs of both threads together. Measured on a Fashion-MNIST Parquet table pair in local[2] (cold JVM): opening
 * is mostly the driver planning queries on one core while the executors wait, and loading mostly the executors.
 */
final class SideBySide {
    private SideBySide() {
    }

    record Both<A, B>(A first, B second) {
    }

    /**
     * Runs {@code second} on a thread of its own, which inherits this thread's Spark job group and description (so
     * cancelling the run cancels its jobs too), while this thread runs {@code first}. Returns when both are done;
     * a failure is thrown as it was raised, the first's before the second's.
     */
    static <A, B> Both<A, B> run(Supplier<A> first, Supplier<B> second) {
        CompletableFuture<B> other = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                other.complete(second.get());
            } catch (Throwable e) {
                other.completeExceptionally(e);
            }
        }, "shoal-side-by-side");
        thread.setDaemon(true);
        thread.start();
        A a;
        try {
            a = first.get();
        } catch (RuntimeException | Error e) {
            try {
                other.join();
            } catch (CompletionException alsoFailed) {
                e.addSuppressed(alsoFailed.getCause());
            }
            throw e;
        }
        try {
            return new Both<>(a, other.join());
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error r) {
                throw r;
            }
            throw e;
        }
    }
}
