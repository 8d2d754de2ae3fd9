package io.jnbd.interop;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Strict;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The oldstyle handshake: nbdkit --oldstyle over TCP, with no options and no export names. */
class NbdkitOldstyleTest {
    static final int EINVAL = 22;
    static final long SIZE = 4L << 20;
    static Servers.Running server;

    @BeforeAll
    static void start() throws Exception {
        server = Servers.nbdkitTcp(Servers.tempDir(), "--oldstyle", "memory", Long.toString(SIZE));
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    static String port() {
        return Integer.toString(server.port);
    }

    @Test
    void handshakeGivesSizeAndFlagsAsLibnbdSeesThem() throws Exception {
        Map<String, String> oracle = MoreServers.nbdinfoJson("nbd://127.0.0.1:" + port() + "/");
        assertEquals("oldstyle", oracle.get("protocol"));
        try (NbdHandle h = new NbdHandle()) {
            h.connectTcp("127.0.0.1", port());
            assertEquals("oldstyle", h.getProtocol());
            assertEquals(SIZE, h.getSize());
            assertEquals(Long.parseLong(oracle.get("export-size")), h.getSize());
            assertFalse(h.getStructuredRepliesNegotiated(), "oldstyle has no options, so no structured replies");
            assertFalse(h.getExtendedHeadersNegotiated());
            assertEquals(Boolean.parseBoolean(oracle.get("is_read_only")), h.isReadOnly());
            assertEquals(Boolean.parseBoolean(oracle.get("can_flush")), h.canFlush());
            assertEquals(Boolean.parseBoolean(oracle.get("can_fua")), h.canFua());
            assertEquals(Boolean.parseBoolean(oracle.get("can_trim")), h.canTrim());
            assertEquals(Boolean.parseBoolean(oracle.get("can_zero")), h.canZero());
            assertEquals(Boolean.parseBoolean(oracle.get("can_fast_zero")), h.canFastZero());
            assertEquals(Boolean.parseBoolean(oracle.get("can_cache")), h.canCache());
            assertEquals(Boolean.parseBoolean(oracle.get("can_multi_conn")), h.canMultiConn());
            assertFalse(h.canDf(), "DF needs structured replies");
        }
    }

    /*
     * Only plain reads and writes: nbdkit 1.32's oldstyle server advertises flush, trim,
     * zero, cache and FUA but then rejects each with EINVAL (libnbd's nbdcopy --flush
     * fails the same way), so those commands prove nothing about the client here.
     */
    @Test
    void dataWrittenIsReadBackHereAndByNbdcopy() throws Exception {
        byte[] data = new byte[256 * 1024];
        new Random(7).nextBytes(data);
        long offset = 1L << 20;
        try (NbdHandle h = new NbdHandle()) {
            h.connectTcp("127.0.0.1", port());
            h.pwrite(data, offset);
            byte[] back = new byte[data.length];
            h.pread(back, offset);
            assertArrayEquals(data, back);
            h.shutdown();
            assertTrue(h.aioIsClosed());
        }
        byte[] whole = MoreServers.nbdcopyRead("nbd://127.0.0.1:" + port() + "/");
        assertEquals(SIZE, whole.length);
        assertArrayEquals(data, Arrays.copyOfRange(whole, (int) offset, (int) offset + data.length));
    }

    @Test
    void serverErrorInASimpleReplyLeavesTheHandleReady() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectTcp("127.0.0.1", port());
            h.setStrictMode(h.getStrictMode() & ~Strict.BOUNDS);
            NbdException e = assertThrows(NbdException.class, () -> h.pread(new byte[512], SIZE));
            assertEquals(EINVAL, e.getErrno(), e.getMessage());
            assertTrue(h.aioIsReady());
            byte[] back = new byte[512];
            h.pread(back, SIZE - 512);
        }
    }

    @Test
    void exportNameIsIgnored() {
        // An oldstyle server never hears the name; libnbd connects all the same.
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("no-such-export");
            h.connectTcp("127.0.0.1", port());
            assertEquals(SIZE, h.getSize());
            assertEquals("no-such-export", h.getExportName());
        }
    }

    @Test
    void optModeHasNoEffectOnOldstyle() {
        // libnbd's nbd_set_opt_mode: "This setting has no effect when connecting to an oldstyle server":
        // the handle skips the negotiating state and is ready at once.
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectTcp("127.0.0.1", port());
            assertTrue(h.aioIsReady(), h.connectionState());
            assertFalse(h.aioIsNegotiating());
            NbdException list = assertThrows(NbdException.class, () -> h.optList((n, d) -> 0));
            assertEquals(EINVAL, list.getErrno());
            assertTrue(list.getMessage().startsWith("optList: invalid state: READY"), list.getMessage());
            NbdException go = assertThrows(NbdException.class, h::optGo);
            assertEquals(EINVAL, go.getErrno());
            assertEquals(EINVAL, assertThrows(NbdException.class, h::optAbort).getErrno());
            byte[] back = new byte[512];
            h.pread(back, 0);
            assertTrue(h.aioIsReady());
            // libnbd's shutdown-opt-mode.c: shutdown works, as opt mode never began.
            h.shutdown();
            assertTrue(h.aioIsClosed());
        }
    }

    @Test
    void aioConnectReachesReadyWithoutNegotiating() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.aioConnectTcp("127.0.0.1", port());
            while (!h.aioIsReady()) {
                assertFalse(h.aioIsNegotiating(), "an oldstyle server never negotiates");
                assertFalse(h.aioIsDead(), h.connectionState());
                h.poll(-1);
            }
            assertEquals("oldstyle", h.getProtocol());
            assertEquals("nbd://127.0.0.1:" + port() + "/", h.getUri());
        }
    }

    /**
     * libnbd's oldstyle.c: no meta contexts, and preadStructured over a
     * simple reply calls its chunk callback once, whose error fails the read.
     */
    @Test
    void preadStructuredOverASimpleReplyCallsTheChunkOnce() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.addMetaContext("base:allocation");
            h.connectTcp("127.0.0.1", port());
            assertFalse(h.canMetaContext("base:allocation"));
            byte[] data = new byte[512];
            new Random(9).nextBytes(data);
            long offset = 2 * 512;
            h.pwrite(data, offset);
            int[] calls = {0};
            io.jnbd.ChunkCallback chunk = (subbuf, off, status, err) -> {
                calls[0]++;
                assertEquals(offset, off);
                assertEquals(io.jnbd.ChunkCallback.READ_DATA, status);
                assertEquals(0, err.get());
                byte[] got = new byte[subbuf.remaining()];
                subbuf.get(got);
                assertArrayEquals(data, got);
                if (calls[0] > 1) {
                    // Something no NBD server can send.
                    err.set(111);
                    return -1;
                }
                return 0;
            };
            byte[] back = new byte[512];
            h.preadStructured(back, offset, chunk);
            assertEquals(1, calls[0]);
            assertArrayEquals(data, back);
            NbdException e = assertThrows(NbdException.class, () -> h.preadStructured(new byte[512], offset, chunk));
            assertEquals(111, e.getErrno(), e.getMessage());
            assertEquals(2, calls[0]);
            h.shutdown();
        }
    }
}
