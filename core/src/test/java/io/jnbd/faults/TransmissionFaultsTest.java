package io.jnbd.faults;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.ScriptedServer;
import io.jnbd.testing.ScriptedServer.Replies;
import io.jnbd.testing.ScriptedServer.Request;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static io.jnbd.testing.ScriptedServer.CMD_BLOCK_STATUS;
import static io.jnbd.testing.ScriptedServer.CMD_DISC;
import static io.jnbd.testing.ScriptedServer.CMD_READ;
import static io.jnbd.testing.ScriptedServer.META_CONTEXT_ID;
import static io.jnbd.testing.ScriptedServer.REPLY_FLAG_DONE;
import static io.jnbd.testing.ScriptedServer.REPLY_TYPE_BLOCK_STATUS;
import static io.jnbd.testing.ScriptedServer.REPLY_TYPE_ERROR;
import static io.jnbd.testing.ScriptedServer.REPLY_TYPE_NONE;
import static io.jnbd.testing.ScriptedServer.REPLY_TYPE_OFFSET_DATA;
import static io.jnbd.testing.ScriptedServer.REPLY_TYPE_OFFSET_HOLE;
import static io.jnbd.testing.ScriptedServer.offsetData;
import static io.jnbd.testing.ScriptedServer.offsetHole;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server that breaks the protocol after the handshake: the command in
 * flight fails promptly, EPROTO for a violation and ENOTCONN for a server that
 * hangs up, and the handle is dead. Unless noted, the client reads 512 bytes
 * at {@value #OFFSET} of a 1 MiB export.
 */
class TransmissionFaultsTest extends FaultTestBase {
    private static final long SIZE = 1 << 20;
    private static final long OFFSET = 4096;
    private static final int COUNT = 512;
    private static final int DONE = REPLY_FLAG_DONE;

    /** The server's answer to the client's read request. */
    @FunctionalInterface
    private interface Answer {
        void to(ScriptedServer s, Request read) throws Exception;
    }

    /** Reads through a server that agreed to {@code replies} and then answers as told; the read must fail. */
    private void readFails(Replies replies, Answer answer, int errno, String what) throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.handshake(replies, SIZE);
                answer.to(srv, srv.readRequest(CMD_READ));
            });
             NbdHandle h = newHandle()) {
            h.connectUnix(s.socket());
            byte[] buf = stale();
            NbdException e = fails(() -> h.pread(buf, OFFSET));
            assertError(e, "pread", errno, what);
            assertTrue(h.aioIsDead(), h.connectionState());
            assertNothingStale(buf);
        }
    }

    /** A buffer full of 0x55, which no server here sends: what the caller had in it before a read. */
    private static byte[] stale() {
        byte[] b = new byte[COUNT];
        Arrays.fill(b, (byte) 0x55);
        return b;
    }

    /** pread_initialize: whatever the server did, none of the buffer's old contents are left. */
    private static void assertNothingStale(byte[] buf) {
        for (int i = 0; i < buf.length; i++) {
            assertTrue(buf[i] != 0x55, "byte " + i + " of the buffer was left as it was before the read");
        }
    }

    @Test
    void wrongReplyMagic() throws Exception {
        readFails(Replies.SIMPLE, (s, r) -> s.raw(ByteBuffer.allocate(16).putInt(0xdeadbeef).putInt(0)
                .putLong(r.cookie()).array()), EPROTO, "invalid reply magic 0xdeadbeef");
    }

    @Test
    void garbage() throws Exception {
        // A web server where an NBD server was expected.
        readFails(Replies.STRUCTURED, (s, r) -> s.raw("HTTP/1.1 400 Bad Request\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII)), EPROTO, "invalid reply magic 0x48545450");
    }

    @Test
    void simpleReplyWithUnknownCookie() throws Exception {
        // Without structured replies the client cannot know whether data follows: it must stop.
        readFails(Replies.SIMPLE, (s, r) -> s.simpleReply(r.cookie() + 1000, 0, new byte[COUNT]), EPROTO,
                "unknown cookie 1001");
    }

    @Test
    void structuredReplyWithUnknownCookie() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> s.chunk(r.cookie() + 1000, DONE, REPLY_TYPE_OFFSET_DATA,
                offsetData(OFFSET, COUNT)), EPROTO, "unknown cookie 1001");
    }

    @Test
    void replyToCommandNeverSent() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> {
            assertEquals(1, r.cookie());
            s.chunk(99, DONE, REPLY_TYPE_NONE, new byte[0]);
        }, EPROTO, "unknown cookie 99");
    }

    @Test
    void simpleReplyAfterExtendedHeaders() throws Exception {
        // With extended headers every reply must be an extended one.
        readFails(Replies.EXTENDED, (s, r) -> s.simpleReply(r.cookie(), 0, new byte[COUNT]), EPROTO,
                "invalid reply magic 0x67446698");
    }

    @Test
    void simpleReplyTruncated() throws Exception {
        readFails(Replies.SIMPLE, (s, r) -> s.simpleReply(r.cookie(), 0, new byte[100]), ENOTCONN,
                "server closed the connection");
    }

    @Test
    void dataChunkTruncated() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> {
            s.chunkHeader(r.cookie(), DONE, REPLY_TYPE_OFFSET_DATA, 8 + COUNT);
            s.raw(Arrays.copyOf(offsetData(OFFSET, COUNT), 8 + 100));
        }, ENOTCONN, "server closed the connection");
    }

    /**
     * The header claims 4 GiB and nothing follows: a client that believed it
     * would allocate or wait for 4 GiB, and see end of stream (ENOTCONN).
     */
    @Test
    void chunkClaiming4GiB() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> s.chunkHeader(r.cookie(), DONE, REPLY_TYPE_OFFSET_DATA, 0xffffffff),
                EPROTO, "chunk length 4294967295 is too large");
    }

    @Test
    void extendedChunkClaiming1TiB() throws Exception {
        readFails(Replies.EXTENDED, (s, r) -> s.extendedHeader(r.cookie(), DONE, REPLY_TYPE_OFFSET_DATA, 1L << 40),
                EPROTO, "chunk length 1099511627776 is too large");
    }

    @ParameterizedTest(name = "data at {0}, {1} bytes")
    @CsvSource({
        "3584, 512",    // before the request's offset
        "4608, 512",    // just past its end
        "4352, 512",    // overlapping its end
        "0, 8192",      // covering the whole request and more
    })
    void dataChunkOutsideTheRequest(long offset, int length) throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> s.chunk(r.cookie(), DONE, REPLY_TYPE_OFFSET_DATA,
                offsetData(offset, length)), EPROTO, "lies outside the request");
    }

    @Test
    void holeChunkOutsideTheRequest() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> s.chunk(r.cookie(), DONE, REPLY_TYPE_OFFSET_HOLE,
                offsetHole(OFFSET + COUNT, COUNT)), EPROTO, "lies outside the request");
    }

    @Test
    void holeChunkOfLengthZero() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> s.chunk(r.cookie(), DONE, REPLY_TYPE_OFFSET_HOLE,
                offsetHole(OFFSET, 0)), EPROTO, "NBD_REPLY_TYPE_OFFSET_HOLE chunk of length 0");
    }

    @Test
    void blockStatusChunkForARead() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> s.chunk(r.cookie(), DONE, REPLY_TYPE_BLOCK_STATUS,
                ByteBuffer.allocate(12).putInt(META_CONTEXT_ID).putInt(COUNT).putInt(0).array()), EPROTO,
                "NBD_REPLY_TYPE_BLOCK_STATUS chunk to NBD_CMD_READ");
    }

    @Test
    void noneChunkWithoutDone() throws Exception {
        readFails(Replies.STRUCTURED, (s, r) -> s.chunk(r.cookie(), 0, REPLY_TYPE_NONE, new byte[0]), EPROTO,
                "NBD_REPLY_TYPE_NONE chunk must be final");
    }

    @Test
    void errorChunkWithMessageLongerThanTheChunk() throws Exception {
        // Error 5 (EIO), then a message length of 100 in a chunk with room for 4.
        readFails(Replies.STRUCTURED, (s, r) -> s.chunk(r.cookie(), DONE, REPLY_TYPE_ERROR,
                ByteBuffer.allocate(10).putInt(5).putShort((short) 100).put("oops".getBytes(StandardCharsets.US_ASCII))
                        .array()), EPROTO, "error chunk has inconsistent length");
    }

    @Test
    void dataChunkForBlockStatus() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.handshake(Replies.STRUCTURED, SIZE);
                Request r = srv.readRequest(CMD_BLOCK_STATUS);
                srv.chunk(r.cookie(), DONE, REPLY_TYPE_OFFSET_DATA, offsetData(r.offset(), (int) r.length()));
            });
             NbdHandle h = newHandle()) {
            h.addMetaContext("base:allocation");
            h.connectUnix(s.socket());
            NbdException e = fails(() -> h.blockStatus(COUNT, OFFSET, (context, offset, entries, error) -> 0));
            assertError(e, "blockStatus", EPROTO, "NBD_REPLY_TYPE_OFFSET_DATA chunk to NBD_CMD_BLOCK_STATUS");
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }

    /**
     * A read whose chunks cover too few bytes breaks no framing rule, so, as in
     * libnbd, only that read fails (EPROTO) and the connection carries on.
     */
    @Test
    void readCoveredByTooFewBytesFailsOnlyThatRead() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.handshake(Replies.STRUCTURED, SIZE);
                Request first = srv.readRequest(CMD_READ);
                srv.chunk(first.cookie(), DONE, REPLY_TYPE_OFFSET_DATA, offsetData(first.offset(), COUNT / 2));
                Request second = srv.readRequest(CMD_READ);
                srv.chunk(second.cookie(), DONE, REPLY_TYPE_OFFSET_DATA, offsetData(second.offset(), COUNT));
                srv.readRequest(CMD_DISC);
            });
             NbdHandle h = newHandle()) {
            h.connectUnix(s.socket());
            byte[] first = stale();
            NbdException e = fails(() -> h.pread(first, OFFSET));
            assertError(e, "pread", EPROTO, "server sent 256 bytes of data for a read of 512");
            assertTrue(h.aioIsReady(), h.connectionState());
            // As libnbd: the data that came, and zeroes where none did.
            byte[] halfData = new byte[COUNT];
            Arrays.fill(halfData, 0, COUNT / 2, (byte) 0xAA);
            assertArrayEquals(halfData, first);

            byte[] buf = new byte[COUNT];
            h.pread(buf, OFFSET);
            byte[] expected = new byte[COUNT];
            Arrays.fill(expected, (byte) 0xAA);
            assertArrayEquals(expected, buf);
            h.shutdown();
            assertTrue(h.aioIsClosed(), h.connectionState());
        }
    }

    /**
     * Structured replies forbid a simple reply to a read; libnbd still takes
     * its data off the wire (the framing is intact) but fails the read with
     * EPROTO, and the connection carries on.
     */
    @Test
    void simpleReplyToReadAfterStructuredRepliesFailsOnlyThatRead() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.handshake(Replies.STRUCTURED, SIZE);
                srv.simpleReply(srv.readRequest(CMD_READ).cookie(), 0, new byte[COUNT]);
                Request second = srv.readRequest(CMD_READ);
                srv.chunk(second.cookie(), DONE, REPLY_TYPE_OFFSET_HOLE, offsetHole(second.offset(), COUNT));
                srv.readRequest(CMD_DISC);
            });
             NbdHandle h = newHandle()) {
            h.connectUnix(s.socket());
            NbdException e = fails(() -> h.pread(new byte[COUNT], OFFSET));
            assertError(e, "pread", EPROTO, "simple reply to NBD_CMD_READ");
            assertTrue(h.aioIsReady(), h.connectionState());
            byte[] hole = stale();
            h.pread(hole, OFFSET);
            assertArrayEquals(new byte[COUNT], hole);
            h.shutdown();
            assertTrue(h.aioIsClosed(), h.connectionState());
        }
    }
}
