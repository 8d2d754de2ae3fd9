package io.jnbd.interop;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.Servers;

import static io.jnbd.testing.Leaks.jnbdThreads;
import static io.jnbd.testing.Leaks.openDescriptors;
import static io.jnbd.testing.Leaks.zombieChildren;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** connectCommand's children: started, killed, reaped, with nothing leaked. */
class SubprocessLifecycleTest {

    @Test
    void thousandConnectCloseCyclesLeakNothing() throws Exception {
        String nbdkit = Servers.require("nbdkit");
        // Warm up so that lazily created JVM threads and descriptors are not counted as leaks.
        cycle(nbdkit);
        long fds = openDescriptors();
        long threads = jnbdThreads();
        for (int i = 0; i < 1000; i++) {
            cycle(nbdkit);
        }
        assertEquals(0, zombieChildren(), "zombie children");
        assertTrue(openDescriptors() <= fds + 2, "descriptors before " + fds + ", after " + openDescriptors());
        assertEquals(threads, jnbdThreads(), "jnbd threads");
    }

    private static void cycle(String nbdkit) {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(List.of(nbdkit, "-s", "--exit-with-parent", "null", "1M"));
            h.pread(new byte[512], 0);
        }
    }

    @Test
    void killSubprocessAndPid() throws Exception {
        try (NbdHandle h = new NbdHandle()) {
            NbdException none = assertThrows(NbdException.class, h::getSubprocessPid);
            assertEquals(3, none.getErrno());
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
            long pid = h.getSubprocessPid();
            assertTrue(Files.exists(Path.of("/proc/" + pid)));
            h.killSubprocess(0);
            // The server's death ends the connection: the next command fails, the handle dies.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!h.aioIsDead() && System.nanoTime() < deadline) {
                try {
                    h.pread(new byte[512], 0);
                } catch (NbdException expected) {
                    // Either the command failed or the handle is already dead.
                }
            }
            assertTrue(h.aioIsDead());
        }
        assertEquals(0, zombieChildren());
    }

    @Test
    void missingCommandFailsClearly() {
        try (NbdHandle h = new NbdHandle()) {
            NbdException e = assertThrows(NbdException.class,
                    () -> h.connectCommand(List.of("/nonexistent/jnbd-no-such-server")));
            assertTrue(e.getMessage().startsWith("connectCommand: "), e.getMessage());
            assertTrue(e.getMessage().contains("jnbd-no-such-server"), e.getMessage());
            assertEquals(2, e.getErrno());
            assertTrue(h.aioIsDead());
            assertFalse(h.aioIsCreated());
        }
    }
}
