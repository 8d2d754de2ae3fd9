package io.jnbd.faults;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What every test of a misbehaving server shares: the failure must come
 * quickly, say which call failed and why, and leave no thread behind.
 */
abstract class FaultTestBase {
    static final int EPROTO = 71;
    static final int EOVERFLOW = 75;
    static final int ENOTCONN = 107;
    static final int EINVAL = 22;
    static final int EIO = 5;
    static final int EPIPE = 32;

    /** A hang is the bug these tests look for, so every failure must arrive within this. */
    static final Duration PROMPTLY = Duration.ofSeconds(2);

    private final List<String> handleNames = new ArrayList<>();

    /** A handle whose reply reader {@link #noThreadOutlivesItsHandle} checks after the test. */
    NbdHandle newHandle() {
        NbdHandle h = new NbdHandle();
        handleNames.add(h.getHandleName());
        return h;
    }

    /** Runs {@code call}, which must throw NbdException within {@link #PROMPTLY}. */
    static NbdException fails(Executable call) {
        return assertTimeoutPreemptively(PROMPTLY, () -> assertThrows(NbdException.class, call));
    }

    /** The message names the method first, then says what went wrong; the errno matches. */
    static void assertError(NbdException e, String method, int errno, String what) {
        String m = e.getMessage();
        assertTrue(m.startsWith(method + ": "), m);
        assertTrue(m.contains(what), "expected '" + what + "' in: " + m);
        assertEquals(errno, e.getErrno(), m);
    }

    /**
     * Closed handles must not leave their reader (or connect) thread running:
     * a reader stuck on a dead connection is how a hang shows up later.
     */
    @AfterEach
    void noThreadOutlivesItsHandle() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        for (String name : handleNames) {
            while (threadAlive("jnbd-reader-" + name) || threadAlive("jnbd-connect-" + name)) {
                if (System.nanoTime() > deadline) {
                    fail("a thread of handle " + name + " is still alive 2 s after close()");
                }
                Thread.sleep(10);
            }
        }
    }

    private static boolean threadAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }
}
