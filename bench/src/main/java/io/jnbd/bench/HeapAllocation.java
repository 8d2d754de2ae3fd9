package io.jnbd.bench;

import java.lang.management.ManagementFactory;

/**
 * Heap bytes allocated by all threads of this JVM, live and ended. jnbd
 * allocates on the caller's thread and on its reader thread, so a per-thread
 * counter would miss half of it.
 */
final class HeapAllocation {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private HeapAllocation() {
    }

    static long total() {
        return THREADS.getTotalThreadAllocatedBytes();
    }
}
