package io.jnbd.tools.sh;

import io.jnbd.NbdHandle;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How {@code jnbd sh} gives its handle to the shell's snippets, which run in
 * the same JVM (JShell's local execution engine) but are compiled from source
 * and loaded by JShell's own class loader: the tool deposits the handle under
 * a fresh key and the shell's first snippet takes it, by name of this class.
 * Exported for that snippet only; not an API.
 */
public final class Handoff {
    private static final Map<String, NbdHandle> WAITING = new ConcurrentHashMap<>();

    private Handoff() {
    }

    static String deposit(NbdHandle h) {
        String key = UUID.randomUUID().toString();
        WAITING.put(key, h);
        return key;
    }

    /** The handle deposited under {@code key} (again after jshell's /reset, which reruns the startup). */
    public static NbdHandle take(String key) {
        NbdHandle h = WAITING.get(key);
        if (h == null) {
            throw new IllegalStateException("no handle waits under " + key);
        }
        return h;
    }

    /** Ends the hand-off when the shell does. */
    static void discard(String key) {
        WAITING.remove(key);
    }
}
