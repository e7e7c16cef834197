package dev.shoal.driver.run;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadPoolExecutor;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Spark plugin (on the driver and on every executor) that keeps Spark's block-removal thread pools small, so a
 * long training run's thread count and resident memory stay flat.
 *
 * <p>Spark removes a broadcast, an RDD or a shuffle on two pools of up to 100 threads: the driver's
 * {@code block-manager-ask-thread-pool} and every block manager's {@code block-manager-storage-async-thread-pool}.
 * Their core size is their maximum, so each removal starts a thread of its own until there are 100, and a thread
 * lives 60 s after its last task. A training run removes about four broadcasts an epoch (the model it sends, each
 * job's task binary): the pools grew by eight threads an epoch for 25 epochs, the whole 20-epoch soak, and with
 * them the process's resident memory. A removal is short and nothing waits on it, so a few threads serve them.
 * Spark has no setting for these pools; this finds them through the RPC environment's endpoints and lowers their
 * core size (the queue is unbounded, so the core size is the number of threads). Where Spark's internals are not
 * as expected, it logs a warning and changes nothing.
 */
public final class RemovalPools implements SparkPlugin {
    /** Threads a removal pool keeps. */
    static final int THREADS = 2;
    private static final Set<String> ENDPOINTS = Set.of("org.apache.spark.storage.BlockManagerMasterEndpoint",
            "org.apache.spark.storage.BlockManagerStorageEndpoint");
    private static final Logger LOG = LoggerFactory.getLogger(RemovalPools.class);

    @Override
    public DriverPlugin driverPlugin() {
        return new DriverPlugin() {
            @Override
            public Map<String, String> init(SparkContext sc, PluginContext context) {
                shrink(SparkEnv.get());
                return Map.of();
            }
        };
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext context, Map<String, String> extraConf) {
                shrink(SparkEnv.get());
            }
        };
    }

    /** Lowers the removal pools of {@code env}'s block managers to {@link #THREADS} threads. */
    static void shrink(SparkEnv env) {
        try {
            List<ThreadPoolExecutor> pools = of(env);
            if (pools.isEmpty()) {
                throw new NoSuchFieldException("no block manager endpoint with a thread pool");
            }
            pools.forEach(pool -> pool.setCorePoolSize(Math.min(THREADS, pool.getMaximumPoolSize())));
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("Spark's block-removal thread pools left as they are (they grow to 100 threads each): {}",
                    e.toString());
        }
    }

    /** The thread pools of {@code env}'s block manager endpoints (the master's on the driver only). */
    static List<ThreadPoolExecutor> of(SparkEnv env) throws ReflectiveOperationException {
        List<ThreadPoolExecutor> pools = new ArrayList<>();
        Object dispatcher = read(env.rpcEnv(), "dispatcher");
        for (Object endpoint : ((Map<?, ?>) read(dispatcher, "endpointRefs")).keySet()) {
            if (ENDPOINTS.contains(endpoint.getClass().getName())) {
                for (Field f : endpoint.getClass().getDeclaredFields()) {
                    if (f.getType() == ThreadPoolExecutor.class) {
                        f.setAccessible(true);
                        pools.add((ThreadPoolExecutor) f.get(endpoint));
                    }
                }
            }
        }
        return pools;
    }

    private static Object read(Object owner, String field) throws ReflectiveOperationException {
        Field f = owner.getClass().getDeclaredField(field);
        f.setAccessible(true);
        return f.get(owner);
    }

    /** {@code spark.plugins} with this plugin added to {@code existing} (a comma-separated list, or null). */
    static String addedTo(String existing) {
        String name = RemovalPools.class.getName();
        if (existing == null || existing.isBlank()) {
            return name;
        }
        return List.of(existing.split(",")).stream().map(String::trim).anyMatch(name::equals)
                ? existing : existing + "," + name;
    }
}
