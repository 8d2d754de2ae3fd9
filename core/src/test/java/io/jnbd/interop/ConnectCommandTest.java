package io.jnbd.interop;

import io.jnbd.CmdFlag;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** connectCommand and aioConnectCommand: nbdkit -s talking NBD over its stdin and stdout. */
class ConnectCommandTest {
    static final int ENOTSUP = 95;
    static final long SIZE = 16L << 20;

    static List<String> nbdkit(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static String link(Path p) throws IOException {
        return Files.readSymbolicLink(p).toString();
    }

    static Path fd(long pid, int fd) {
        return Path.of("/proc/" + pid + "/fd/" + fd);
    }

    /** Writes, reads back, then flush, trim and zero, each checked by a read. */
    static void exercise(NbdHandle h) {
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        h.pwrite(data, 2L << 20);
        h.pwrite(Arrays.copyOf(data, 4096), 0, CmdFlag.FUA);
        h.flush();
        byte[] back = new byte[data.length];
        h.pread(back, 2L << 20);
        assertArrayEquals(data, back);

        // A read across both writes, into a direct buffer.
        ByteBuffer big = ByteBuffer.allocateDirect(4 << 20);
        h.pread(big, 0);
        big.flip();
        byte[] head = new byte[4096];
        big.get(head);
        assertArrayEquals(Arrays.copyOf(data, 4096), head);
        big.position(2 << 20);
        byte[] middle = new byte[data.length];
        big.get(middle);
        assertArrayEquals(data, middle);

        h.trim(1 << 20, 2L << 20);
        h.zero(65536, (2L << 20) + (1 << 20) - 65536);
        h.pread(back, 2L << 20);
        // The memory plugin trims to zeroes, so the whole MiB reads as zero now.
        assertArrayEquals(new byte[data.length], back);
    }

    @Test
    void connectCommandRunsAllCommandsOverStructuredReplies() throws Exception {
        long pid;
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("memory", Long.toString(SIZE)));
            pid = h.getSubprocessPid();
            assertTrue(Files.exists(Path.of("/proc/" + pid)));
            assertEquals(SIZE, h.getSize());
            assertEquals("newstyle-fixed", h.getProtocol());
            assertTrue(h.getStructuredRepliesNegotiated());
            assertTrue(h.canDf());
            exercise(h);
        }
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "close() ended and reaped the server");
    }

    @Test
    void childHasTheSocketAndOurStderr() throws Exception {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("memory", "1M"));
            long pid = h.getSubprocessPid();
            // nbdkit -s moves the socket off stdin and stdout (onto /dev/null) once it has started,
            // so look for it among all its descriptors.
            List<String> links = new ArrayList<>();
            try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
                for (Path p : (Iterable<Path>) fds::iterator) {
                    links.add(link(p));
                }
            }
            assertTrue(links.stream().anyMatch(l -> l.startsWith("socket:")), links.toString());
            assertEquals(link(Path.of("/proc/self/fd/2")), link(fd(pid, 2)), "stderr is inherited");
        }
    }

    @Test
    void aioConnectCommandWithAPollLoop() throws Exception {
        long pid;
        try (NbdHandle h = new NbdHandle()) {
            h.aioConnectCommand(nbdkit("memory", Long.toString(SIZE)));
            while (!h.aioIsReady()) {
                assertFalse(h.aioIsDead(), h.connectionState());
                h.poll(-1);
            }
            pid = h.getSubprocessPid();
            assertTrue(h.getStructuredRepliesNegotiated());
            exercise(h);
            h.shutdown();
            assertTrue(h.aioIsClosed());
        }
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "close() reaped the server");
    }

    @Test
    void simpleRepliesWhenStructuredRepliesAreNotRequested() throws Exception {
        long pid;
        try (NbdHandle h = new NbdHandle()) {
            h.setRequestStructuredReplies(false);
            h.addMetaContext("base:allocation");
            h.connectCommand(nbdkit("memory", Long.toString(SIZE)));
            pid = h.getSubprocessPid();
            assertFalse(h.getStructuredRepliesNegotiated());
            assertFalse(h.getExtendedHeadersNegotiated());
            assertFalse(h.canDf(), "DF needs structured replies");
            exercise(h);
            // Block status needs structured replies: refused before anything is sent.
            NbdException e = assertThrows(NbdException.class,
                    () -> h.blockStatus(4096, 0, (ctx, off, entries, err) -> 0));
            assertEquals(ENOTSUP, e.getErrno(), e.getMessage());
            assertTrue(h.aioIsReady());
        }
        assertFalse(Files.exists(Path.of("/proc/" + pid)));
    }
}
