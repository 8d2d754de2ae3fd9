package io.jnbd.interop;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** aioConnectCommand: returns at once, then connecting → (negotiating) → ready, watched by polling. */
class AioConnectTest {

    private static List<String> nbdkit(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void pollUntilReady() {
        try (NbdHandle h = new NbdHandle()) {
            // The delay filter holds the handshake open long enough to see the connecting state.
            h.aioConnectCommand(nbdkit("--filter=delay", "memory", "1M", "delay-open=500ms"));
            assertTrue(h.aioIsConnecting(), h.connectionState());
            List<String> states = new ArrayList<>();
            while (!h.aioIsReady()) {
                assertEquals(1, h.poll(-1));
                states.add(h.connectionState());
                assertFalse(h.aioIsDead(), h.connectionState());
            }
            assertEquals(1L << 20, h.getSize());
            h.pread(new byte[4096], 0);
            assertTrue(states.getLast().startsWith("READY"), states.toString());
        }
    }

    @Test
    void optModeStopsAtNegotiating() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.aioConnectCommand(nbdkit("memory", "1M"));
            while (h.aioIsConnecting()) {
                h.poll(-1);
            }
            assertTrue(h.aioIsNegotiating(), h.connectionState());
            assertThrows(NbdException.class, () -> h.pread(new byte[1], 0));
            h.optInfo();
            assertEquals(1L << 20, h.getSize());
            assertTrue(h.aioIsNegotiating());
            h.optGo();
            assertTrue(h.aioIsReady());
        }
    }

    @Test
    void pollReportsTheFailureOnceThenRefuses() {
        try (NbdHandle h = new NbdHandle()) {
            // A "server" that prints garbage and exits: the handshake fails.
            h.aioConnectCommand(List.of("sh", "-c", "echo garbage-that-is-not-nbd"));
            NbdException e = assertThrows(NbdException.class, () -> {
                while (true) {
                    h.poll(-1);
                }
            });
            assertTrue(e.getMessage().startsWith("poll: "), e.getMessage());
            assertTrue(h.aioIsDead());
            NbdException again = assertThrows(NbdException.class, () -> h.poll(0));
            assertEquals(22, again.getErrno());
            assertTrue(again.getMessage().contains("nothing to poll for in state DEAD"), again.getMessage());
        }
    }

    @Test
    void pollTimesOutWithoutProgress() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("memory", "1M"));
            h.poll(0);
            assertEquals(0, h.poll(50));
        }
    }

    @Test
    void secondConnectChangesNothing() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("memory", "1M"));
            String before = h.connectionState();
            long pid = h.getSubprocessPid();
            NbdException e = assertThrows(NbdException.class, () -> h.aioConnectCommand(nbdkit("memory", "2M")));
            assertEquals("aioConnectCommand: invalid state: READY: the handle must be newly created", e.getMessage());
            assertEquals(22, e.getErrno());
            NbdException v = assertThrows(NbdException.class, () -> h.connectVsock(1, 10809));
            assertTrue(v.getMessage().startsWith("connectVsock: invalid state: READY"), v.getMessage());
            assertEquals(before, h.connectionState());
            assertEquals(pid, h.getSubprocessPid());
            assertEquals(1L << 20, h.getSize());
        }
    }

    @Test
    void nullArgumentsAreNamed() {
        try (NbdHandle h = new NbdHandle()) {
            NullPointerException e = assertThrows(NullPointerException.class, () -> h.aioConnectCommand(null));
            assertEquals("argv", e.getMessage());
            assertTrue(h.aioIsCreated());
            NbdException empty = assertThrows(NbdException.class, () -> h.connectCommand(List.of()));
            assertEquals(22, empty.getErrno());
            assertTrue(h.aioIsCreated());
        }
    }
}
