package io.jnbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that misbehave, written byte by byte: each gets the protocol's
 * error or a closed connection, and the server goes on serving others.
 */
class BadInputTest {
    private static final long NBDMAGIC = 0x4e42444d41474943L;
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long REPLY_MAGIC_OPT = 0x0003e889045565a9L;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    private static final int SIZE = 1 << 20;

    private Path dir;
    private NbdServer server;

    @BeforeEach
    void setUp() throws IOException {
        dir = Servers.tempDir();
        server = NbdServer.builder().export("", Backend.memory(SIZE)).unixSocket(dir.resolve("s")).start();
    }

    @AfterEach
    void tearDown() throws IOException {
        server.close();
        MoreServers.deleteTree(dir);
        // Whatever the bad client did, it must not have taken the server down.
    }

    private SocketChannel open() throws IOException {
        return SocketChannel.open(UnixDomainSocketAddress.of(server.unixSocket()));
    }

    private static ByteBuffer read(SocketChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("closed after " + b.position() + " of " + n + " bytes");
            }
        }
        return b.flip();
    }

    private static void write(SocketChannel ch, ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** True if the server closes the connection (within a few seconds) rather than answering. */
    private static boolean closedByServer(SocketChannel ch) throws IOException, InterruptedException {
        ch.configureBlocking(false);
        ByteBuffer b = ByteBuffer.allocate(1 << 16);
        for (long deadline = System.nanoTime() + 5_000_000_000L; System.nanoTime() < deadline; Thread.sleep(10)) {
            if (ch.read(b.clear()) < 0) {
                return true;
            }
        }
        return false;
    }

    private static ByteBuffer zeroes(int n) {
        return ByteBuffer.allocate(n).position(n);
    }

    /** Greeting read, fixed newstyle + no zeroes sent. */
    private SocketChannel greeted() throws IOException {
        SocketChannel ch = open();
        ByteBuffer g = read(ch, 18);
        assertEquals(NBDMAGIC, g.getLong());
        assertEquals(IHAVEOPT, g.getLong());
        assertEquals(3, g.getShort());
        write(ch, ByteBuffer.allocate(4).putInt(3));
        return ch;
    }

    /** In transmission with simple replies, after NBD_OPT_GO for the default export. */
    private SocketChannel ready() throws IOException {
        SocketChannel ch = greeted();
        write(ch, ByteBuffer.allocate(22).putLong(IHAVEOPT).putInt(7).putInt(6).putInt(0).putShort((short) 0));
        while (true) {
            ByteBuffer h = read(ch, 20);
            assertEquals(REPLY_MAGIC_OPT, h.getLong());
            h.getInt();
            int type = h.getInt();
            read(ch, h.getInt());
            if (type == 1) {
                return ch;
            }
            assertEquals(3, type, "NBD_REP_INFO");
        }
    }

    private static void request(SocketChannel ch, int flags, int type, long cookie, long offset, int length)
            throws IOException {
        write(ch, ByteBuffer.allocate(28).putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putLong(offset).putInt(length));
    }

    /** The error of a simple reply to {@code cookie}. */
    private static int simpleError(SocketChannel ch, long cookie) throws IOException {
        ByteBuffer r = read(ch, 16);
        assertEquals(SIMPLE_REPLY_MAGIC, r.getInt());
        int error = r.getInt();
        assertEquals(cookie, r.getLong());
        return error;
    }

    private void assertStillServes() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectUri(server.uri());
            byte[] b = {1, 2, 3};
            h.pwrite(b, 100);
            byte[] back = new byte[3];
            h.pread(back, 100);
            assertArrayEquals(b, back);
        }
    }

    @Test
    void garbageInsteadOfClientFlags() throws Exception {
        try (SocketChannel ch = open()) {
            read(ch, 18);
            byte[] junk = new byte[4096];
            new Random(1).nextBytes(junk);
            junk[0] = (byte) 0xff;
            write(ch, ByteBuffer.allocate(junk.length).put(junk));
            assertTrue(closedByServer(ch));
        }
        assertStillServes();
    }

    @Test
    void absurdOptionLengthClosesWithoutAllocating() throws Exception {
        try (SocketChannel ch = greeted()) {
            write(ch, ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(7).putInt(-1));
            assertTrue(closedByServer(ch));
        }
        assertStillServes();
    }

    @Test
    void unknownOptionAndMalformedGoGetErrorReplies() throws IOException {
        try (SocketChannel ch = greeted()) {
            write(ch, ByteBuffer.allocate(19).putLong(IHAVEOPT).putInt(99).putInt(3).put(new byte[3]));
            ByteBuffer h = read(ch, 20);
            h.getLong();
            assertEquals(99, h.getInt());
            assertEquals(0x80000001, h.getInt(), "NBD_REP_ERR_UNSUP");
            read(ch, h.getInt());
            // NBD_OPT_GO whose name length runs past the option.
            write(ch, ByteBuffer.allocate(22).putLong(IHAVEOPT).putInt(7).putInt(6).putInt(1000).putShort((short) 0));
            h = read(ch, 20);
            h.getLong();
            assertEquals(7, h.getInt());
            assertEquals(0x80000003, h.getInt(), "NBD_REP_ERR_INVALID");
            read(ch, h.getInt());
            // And an unknown export.
            write(ch, ByteBuffer.allocate(25).putLong(IHAVEOPT).putInt(7).putInt(9).putInt(3).put("xyz".getBytes())
                    .putShort((short) 0));
            h = read(ch, 20);
            h.getLong();
            h.getInt();
            assertEquals(0x80000006, h.getInt(), "NBD_REP_ERR_UNKNOWN");
        }
        assertStillServes();
    }

    @Test
    void badRequestsGetTheSpecsErrors() throws Exception {
        try (SocketChannel ch = ready()) {
            request(ch, 0, 99, 1, 0, 512);
            assertEquals(22, simpleError(ch, 1), "unknown command: EINVAL");
            request(ch, 0x40, 0, 2, 0, 512);
            assertEquals(22, simpleError(ch, 2), "unknown flag: EINVAL");
            request(ch, 0, 0, 3, SIZE - 256, 512);
            assertEquals(22, simpleError(ch, 3), "read past the end: EINVAL");
            request(ch, 0, 1, 4, SIZE - 256, 512);
            write(ch, zeroes(512));
            assertEquals(28, simpleError(ch, 4), "write past the end: ENOSPC");
            request(ch, 0, 6, 5, -512, 1024);
            assertEquals(28, simpleError(ch, 5), "zero with a wrapping offset: ENOSPC");
            request(ch, 0, 0, 6, 0, 64 << 20);
            assertEquals(22, simpleError(ch, 6), "read over the maximum payload: EINVAL");
            request(ch, 0, 7, 7, 0, 512);
            assertEquals(22, simpleError(ch, 7), "block status without a meta context: EINVAL");
            request(ch, 0, 0, 8, 0, 4);
            assertEquals(0, simpleError(ch, 8));
            read(ch, 4);
            // A write whose payload would be 2 GiB: hang up rather than read or buffer it.
            request(ch, 0, 1, 9, 0, Integer.MAX_VALUE);
            assertTrue(closedByServer(ch));
        }
        assertStillServes();
    }

    @Test
    void clientVanishingMidPayloadOrWithRequestsInFlight() throws Exception {
        try (SocketChannel ch = ready()) {
            request(ch, 0, 1, 1, 0, 1 << 20);
            write(ch, zeroes(1000));
        }
        try (SocketChannel ch = ready()) {
            for (int i = 0; i < 64; i++) {
                request(ch, 0, 0, i, 0, 1 << 20);
            }
        }
        try (SocketChannel ch = ready()) {
            write(ch, ByteBuffer.allocate(28).putInt(0x12345678).position(28));
            assertTrue(closedByServer(ch), "bad request magic");
        }
        assertStillServes();
    }

    /** Random bytes in every phase, then a hang-up: no connection thread outlives its client. */
    @Test
    void randomGarbageLeavesNoConnectionBehind() throws Exception {
        Random random = new Random(42);
        for (int i = 0; i < 60; i++) {
            try (SocketChannel ch = i % 3 == 0 ? open() : i % 3 == 1 ? greeted() : ready()) {
                byte[] junk = new byte[random.nextInt(3000)];
                random.nextBytes(junk);
                write(ch, ByteBuffer.allocate(junk.length).put(junk));
            }
        }
        assertStillServes();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (connectionThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, connectionThreads());
    }

    private static long connectionThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("jnbd-server-conn-")).count();
    }
}
