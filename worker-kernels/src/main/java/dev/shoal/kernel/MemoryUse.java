package dev.shoal.kernel;

import java.io.IOException;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much memory this JVM holds, in MiB: the resident set (what the OS sees: heap, native memory of ND4J's
 * arrays, code) and the Java heap the JVM has committed and uses. Reported per epoch so that an executor that
 * grows is seen long before the OS kills it; RSS minus committed heap is roughly the native part.
 *
 * @param rssMb           resident set size from {@code /proc/self/status}, or -1 where there is no such file
 * @param heapCommittedMb Java heap the JVM has taken from the OS
 * @param heapUsedMb      Java heap in use, garbage included
 */
public record MemoryUse(long rssMb, long heapCommittedMb, long heapUsedMb) implements Serializable {
    private static final long MB = 1 << 20;
    private static final MemoryUse NONE = new MemoryUse(-1, -1, -1);

    public static MemoryUse none() {
        return NONE;
    }

    public static MemoryUse now() {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return new MemoryUse(residentSetMb(), heap.getCommitted() / MB, heap.getUsed() / MB);
    }

    /** Element-wise maximum: the peak of two readings (or of two executors). */
    public MemoryUse max(MemoryUse other) {
        return new MemoryUse(Math.max(rssMb, other.rssMb), Math.max(heapCommittedMb, other.heapCommittedMb),
                Math.max(heapUsedMb, other.heapUsedMb));
    }

    private static long residentSetMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Not Linux: no reading.
        }
        return -1;
    }
}
