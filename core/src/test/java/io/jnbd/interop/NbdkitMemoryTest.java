package io.jnbd.interop;

import io.jnbd.CmdFlag;
import io.jnbd.ExtentCallback;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Strict;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
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

/** Every synchronous command against nbdkit's memory plugin over a Unix socket and TCP. */
class NbdkitMemoryTest {
    static final long SIZE = 8L << 20;
    static Path dir;
    static Servers.Running unix;
    static Servers.Running tcp;

    @BeforeAll
    static void start() throws Exception {
        dir = Servers.tempDir();
        unix = Servers.nbdkitUnix(dir, "memory", Long.toString(SIZE));
        Path tcpDir = Servers.tempDir();
        tcp = Servers.nbdkitTcp(tcpDir, "memory", Long.toString(SIZE));
    }

    @AfterAll
    static void stop() throws Exception {
        if (unix != null) {
            unix.close();
        }
        if (tcp != null) {
            tcp.close();
        }
    }

    @Test
    void unixSocketReadWriteAndFlags() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectUnix(unix.socket.toString());
            assertTrue(h.aioIsReady());
            assertEquals(SIZE, h.getSize());
            assertEquals("newstyle-fixed", h.getProtocol());
            assertTrue(h.getStructuredRepliesNegotiated());
            assertFalse(h.isReadOnly());
            assertTrue(h.canFlush());
            assertTrue(h.canTrim());
            assertTrue(h.canZero());
            assertTrue(h.canMultiConn());
            assertTrue(h.canFua());
            assertTrue(h.canCache());

            byte[] data = new byte[65536];
            new Random(1).nextBytes(data);
            h.pwrite(data, 4096);
            byte[] back = new byte[data.length];
            h.pread(back, 4096);
            assertArrayEquals(data, back);

            ByteBuffer direct = ByteBuffer.allocateDirect(1 << 20);
            h.pread(direct, 0);
            assertEquals(direct.limit(), direct.position(), "a read advances the buffer to its limit");
            direct.flip();
            byte[] firstMiB = new byte[1 << 20];
            direct.get(firstMiB);
            assertArrayEquals(data, Arrays.copyOfRange(firstMiB, 4096, 4096 + data.length));

            h.pwrite(data, 0, CmdFlag.FUA);
            h.flush();
            h.zero(8192, 0);
            h.trim(4096, 8192);
            h.cache(65536, 0);
            byte[] zeroes = new byte[8192];
            h.pread(back = new byte[8192], 0);
            assertArrayEquals(zeroes, back);
            h.shutdown();
            assertTrue(h.aioIsClosed());
        }
    }

    @Test
    void tcpConnectAndBlockStatus() {
        try (NbdHandle h = new NbdHandle()) {
            h.addMetaContext("base:allocation");
            h.connectTcp("127.0.0.1", Integer.toString(tcp.port));
            assertTrue(h.canMetaContext("base:allocation"));
            h.pwrite(new byte[]{1, 2, 3, 4}, 1 << 20);
            List<int[]> seen = new ArrayList<>();
            h.blockStatus(SIZE, 0, (ctx, off, entries, err) -> {
                assertEquals("base:allocation", ctx);
                assertEquals(0, off);
                seen.add(entries);
                return 0;
            });
            assertEquals(1, seen.size());
            int[] e = seen.get(0);
            assertEquals(0, e.length % 2);
            // The first extent is a hole (never written), then data at 1 MiB.
            assertEquals(ExtentCallback.STATE_HOLE | ExtentCallback.STATE_ZERO, e[1] & 3);
            long total = 0;
            for (int i = 0; i < e.length; i += 2) {
                total += Integer.toUnsignedLong(e[i]);
            }
            assertTrue(total > 0 && total <= SIZE);
        }
    }

    @Test
    void serverErrorsComeBackWhenStrictModeIsOff() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectUnix(unix.socket.toString());
            NbdException local = assertThrows(NbdException.class, () -> h.pread(new byte[512], SIZE));
            assertEquals(22, local.getErrno());
            assertTrue(local.getMessage().startsWith("pread: request out of bounds"), local.getMessage());
            h.setStrictMode(h.getStrictMode() & ~Strict.BOUNDS);
            NbdException remote = assertThrows(NbdException.class, () -> h.pread(new byte[512], SIZE));
            assertEquals(22, remote.getErrno(), remote.getMessage());
            assertTrue(h.aioIsReady(), "a server error leaves the handle usable");
            h.pread(new byte[512], 0);
        }
    }
}
