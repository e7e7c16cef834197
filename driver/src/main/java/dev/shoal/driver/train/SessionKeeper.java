package dev.shoal.driver.train;

import dev.shoal.kernel.ModelSnapshot;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.ToIntFunction;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A strategy's {@link WorkerSession}: started on the strategy's first request, again after it yielded its cores
 * to another job, failed or when the training data changes; and what its workers hold after the last answer (the
 * model, by its parameter array and their hash, and the strategy's state), so a request carries them only when
 * they do not.
 */
final class SessionKeeper implements AutoCloseable {
    private final JavaSparkContext sc;
    private final String kind;
    private final String driverHost;
    private final byte[] secret;
    private WorkerSession session;
    private TrainingData data;
    private int started;
    private float[] heldParams;
    private int heldHash;
    private Object heldState;

    SessionKeeper(JavaSparkContext sc, String kind, String driverHost, byte[] secret) {
        this.sc = sc;
        this.kind = kind;
        this.driverHost = driverHost;
        this.secret = secret;
    }

    /** What the workers hold for the next request: whether it is {@code model}, its hash, whether {@code state}. */
    record Held(boolean model, int hash, boolean state) {
    }

    /** Makes a request from what the workers hold. */
    @FunctionalInterface
    interface Requests {
        Serializable request(Held held);
    }

    /**
     * Every worker's answer, by rank ({@code rank} reads an answer's), to the request {@code requests} makes for
     * {@code model} and {@code state}; the session runs {@code body} on the workers' blocks of {@code train} and
     * {@code test}, and its job is described as {@code description}.
     */
    <A> List<A> ask(TrainingData train, TrainingData test, String description, WorkerSession.Body body,
                    ModelSnapshot model, Object state, Requests requests, Class<A> type, ToIntFunction<A> rank) {
        while (true) {
            if (session == null || data != train) {
                end(false);
                Trainer.describeJobs(sc, description);
                session = new WorkerSession(sc, kind + "-" + ++started, driverHost, BarrierStages.blocks(train, test),
                        secret, body);
                data = train;
            }
            Serializable request = requests.request(new Held(model.params() == heldParams, heldHash,
                    state != null && state == heldState));
            try {
                return session.ask(request, type, rank);
            } catch (WorkerSession.YieldedException e) {
                end(false); // nothing went out; a new session takes the request
            }
        }
    }

    /**
     * Records what the workers hold after the last answer: {@code model}, which the driver decoded from rank 0's
     * answer and whose parameters rank 0 hashed to {@code hash}, and {@code state}.
     */
    void held(ModelSnapshot model, int hash, Object state) {
        if (Arrays.hashCode(model.params()) != hash) {
            throw new IllegalStateException("the model rank 0 sent differs from the one it holds");
        }
        heldParams = model.params();
        heldHash = hash;
        heldState = state;
    }

    /**
     * Runs {@code request} (given its attempt's number, from 1) as {@link BarrierStages#withAttempts} does, the
     * session cancelled after each failure so that the next attempt starts a new one.
     */
    <T> T withAttempts(int attempts, String what, IntFunction<T> request) {
        return BarrierStages.withAttempts(attempts, what, attempt -> {
            try {
                return request.apply(attempt);
            } catch (RuntimeException e) {
                end(true);
                throw e;
            }
        });
    }

    /** Ends the session if one runs: asks its workers to stop, or, {@code failed}, cancels it. */
    void end(boolean failed) {
        if (session != null) {
            if (failed) {
                session.abort();
            } else {
                session.close();
            }
            session = null;
            data = null;
            heldParams = null;
            heldState = null;
        }
    }

    @Override
    public void close() {
        end(false);
    }
}
