package io.jnbd.faults;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.ScriptedServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.jnbd.testing.ScriptedServer.EXPORT_FLAGS;
import static io.jnbd.testing.ScriptedServer.IHAVEOPT;
import static io.jnbd.testing.ScriptedServer.NBDMAGIC;
import static io.jnbd.testing.ScriptedServer.OLDSTYLE_MAGIC;
import static io.jnbd.testing.ScriptedServer.OPT_EXTENDED_HEADERS;
import static io.jnbd.testing.ScriptedServer.OPT_GO;
import static io.jnbd.testing.ScriptedServer.OPT_LIST;
import static io.jnbd.testing.ScriptedServer.OPT_STRUCTURED_REPLY;
import static io.jnbd.testing.ScriptedServer.REPLY_MAGIC_OPT;
import static io.jnbd.testing.ScriptedServer.REP_ACK;
import static io.jnbd.testing.ScriptedServer.REP_ERR_UNSUP;
import static io.jnbd.testing.ScriptedServer.REP_INFO;
import static io.jnbd.testing.ScriptedServer.REP_SERVER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server that breaks the handshake: connecting fails promptly, with EPROTO
 * for a protocol violation, ENOTCONN for a server that hangs up, and as
 * libnbd for an export it cannot use (EOVERFLOW, EINVAL); the handle is dead.
 */
class HandshakeFaultsTest extends FaultTestBase {
    private static final byte[] NONE = new byte[0];
    /** NBD_REP_ERR_UNKNOWN: "no such export", a refusal that may carry a message. */
    private static final int REP_ERR_UNKNOWN = 0x80000006;

    /** Connects to {@code script}'s server, which must fail; returns what the client had sent. */
    private List<String> connectFails(ScriptedServer.Script script, String what, int errno) throws Exception {
        try (ScriptedServer s = ScriptedServer.start(script); NbdHandle h = newHandle()) {
            NbdException e = fails(() -> h.connectUnix(s.socket()));
            assertError(e, "connectUnix", errno, what);
            assertTrue(h.aioIsDead(), h.connectionState());
            return s.received();
        }
    }

    /** The default negotiation up to NBD_OPT_GO, which the caller answers. */
    private static void upToGo(ScriptedServer s) throws Exception {
        s.greet();
        s.readOption(OPT_EXTENDED_HEADERS);
        s.optionReply(OPT_EXTENDED_HEADERS, REP_ERR_UNSUP, NONE);
        s.readOption(OPT_STRUCTURED_REPLY);
        s.optionReply(OPT_STRUCTURED_REPLY, REP_ACK, NONE);
        s.readOption(OPT_GO);
    }

    @Test
    void badFirstMagic() throws Exception {
        // What connecting to an SSH port by mistake looks like; the client must not answer it.
        List<String> sent = connectFails(s -> s.raw("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
                .getBytes(StandardCharsets.US_ASCII)), "did not send expected NBD magic", EPROTO);
        assertEquals(List.of(), sent);
    }

    @Test
    void badSecondMagic() throws Exception {
        connectFails(s -> s.raw(ByteBuffer.allocate(18).putLong(NBDMAGIC).putLong(0x0123456789abcdefL)
                .putShort((short) 3).array()), "not either an oldstyle or fixed newstyle", EPROTO);
    }

    @Test
    void serverClosesAfterGreeting() throws Exception {
        // The server reads what the client sends before hanging up, so the client sees end of stream.
        connectFails(s -> {
            s.greet();
            s.readOption(OPT_EXTENDED_HEADERS);
        }, "closed the connection", ENOTCONN);
    }

    @Test
    void oldstyleWithGflags() throws Exception {
        connectFails(s -> s.raw(ByteBuffer.allocate(152).putLong(NBDMAGIC).putLong(OLDSTYLE_MAGIC)
                .putLong(1 << 20).putShort((short) 1).putShort((short) EXPORT_FLAGS).array()),
                "oldstyle server should not set gflags", EPROTO);
    }

    @Test
    void optionReplyWithWrongMagic() throws Exception {
        connectFails(s -> {
            s.greet();
            s.readOption(OPT_EXTENDED_HEADERS);
            s.optionReplyHeader(IHAVEOPT, OPT_EXTENDED_HEADERS, REP_ACK, 0);
        }, "invalid option reply magic", EPROTO);
    }

    @Test
    void replyForAnotherOption() throws Exception {
        List<String> sent = connectFails(s -> {
            s.greet();
            s.readOption(OPT_EXTENDED_HEADERS);
            s.optionReply(OPT_STRUCTURED_REPLY, REP_ACK, NONE);
        }, "reply is for option 8, expected NBD_OPT_EXTENDED_HEADERS", EPROTO);
        // The client gives up there: no further option goes out.
        assertEquals(List.of("option " + OPT_EXTENDED_HEADERS), sent);
    }

    /**
     * A reply claiming more than the 16 MiB bound must be refused from its
     * header: the server sends nothing after it and hangs up, so a client
     * that tried to read (or allocate) the payload would see end of stream
     * (ENOTCONN) or run out of memory, not EPROTO.
     */
    @ParameterizedTest
    @ValueSource(ints = {0xFFFFFFF0, 16 * 1024 * 1024 + 1})
    void optionReplyLongerThan16MiB(int length) throws Exception {
        connectFails(s -> {
            upToGo(s);
            s.optionReplyHeader(REPLY_MAGIC_OPT, OPT_GO, REP_INFO, length);
        }, "invalid option reply length " + Integer.toUnsignedString(length), EPROTO);
    }

    @Test
    void ackWithPayload() throws Exception {
        connectFails(s -> {
            upToGo(s);
            s.optionReply(OPT_GO, REP_ACK, new byte[4]);
        }, "invalid NBD_REP_ACK option reply length 4", EPROTO);
    }

    @Test
    void infoTooShort() throws Exception {
        connectFails(s -> {
            upToGo(s);
            s.optionReply(OPT_GO, REP_INFO, new byte[1]);
        }, "NBD_REP_INFO reply length too small", EPROTO);
    }

    @Test
    void infoExportWithWrongLength() throws Exception {
        // NBD_INFO_EXPORT is type, size and flags: 12 bytes. This one lacks the flags.
        connectFails(s -> {
            upToGo(s);
            s.optionReply(OPT_GO, REP_INFO, ByteBuffer.allocate(10).putShort((short) 0).putLong(1 << 20).array());
        }, "incorrect NBD_INFO_EXPORT option reply length", EPROTO);
    }

    @Test
    void goAckedWithoutExportInfo() throws Exception {
        connectFails(s -> {
            upToGo(s);
            s.optionReply(OPT_GO, REP_ACK, NONE);
        }, "omitted NBD_INFO_EXPORT", EPROTO);
    }

    @Test
    void exportSizeWithTopBitSet() throws Exception {
        // Java's long (and libnbd's int64_t get_size) cannot hold 2^63: refuse it rather than go negative.
        connectFails(s -> {
            upToGo(s);
            s.exportInfo(OPT_GO, 1L << 63, EXPORT_FLAGS);
        }, "export size 9223372036854775808 is too large", EOVERFLOW);
    }

    @Test
    void exportFlagsZero() throws Exception {
        // NBD_FLAG_HAS_FLAGS must always be set; libnbd refuses eflags 0 with EINVAL.
        connectFails(s -> {
            upToGo(s);
            s.exportInfo(OPT_GO, 1 << 20, 0);
        }, "invalid eflags == 0", EINVAL);
    }

    @Test
    void oldstyleExportFlagsZero() throws Exception {
        connectFails(s -> s.raw(ByteBuffer.allocate(152).putLong(NBDMAGIC).putLong(OLDSTYLE_MAGIC)
                .putLong(1 << 20).array()), "invalid eflags == 0", EINVAL);
    }

    /**
     * Error messages are at most 4096 bytes. The server claims 100 KiB and
     * sends only the start of it: the client must judge from the header.
     */
    @Test
    void errorReplyWith100KiBMessage() throws Exception {
        connectFails(s -> {
            upToGo(s);
            s.optionReplyHeader(REPLY_MAGIC_OPT, OPT_GO, REP_ERR_UNKNOWN, 100 * 1024);
            s.raw("no such export ".repeat(100).getBytes(StandardCharsets.US_ASCII));
        }, "option error string too long", EPROTO);
    }

    @Test
    void listReplyWithNameBeyondPayload() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.greet();
                srv.readOption(OPT_EXTENDED_HEADERS);
                srv.optionReply(OPT_EXTENDED_HEADERS, REP_ERR_UNSUP, NONE);
                srv.readOption(OPT_STRUCTURED_REPLY);
                srv.optionReply(OPT_STRUCTURED_REPLY, REP_ACK, NONE);
                srv.readOption(OPT_LIST);
                // Name length 100, but only 3 bytes of name follow.
                srv.optionReply(OPT_LIST, REP_SERVER, ByteBuffer.allocate(7).putInt(100).put((byte) 'a')
                        .put((byte) 'b').put((byte) 'c').array());
            });
             NbdHandle h = newHandle()) {
            h.setOptMode(true);
            h.connectUnix(s.socket());
            assertTrue(h.aioIsNegotiating());
            NbdException e = fails(() -> h.optList((name, description) -> 0));
            assertError(e, "optList", EPROTO, "invalid export name length in NBD_REP_SERVER");
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }
}
