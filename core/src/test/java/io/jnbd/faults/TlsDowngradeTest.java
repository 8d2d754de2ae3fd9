package io.jnbd.faults;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Tls;
import io.jnbd.testing.ScriptedServer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.EOFException;
import java.nio.channels.ClosedChannelException;
import java.security.KeyStore;
import java.nio.ByteBuffer;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;

import static io.jnbd.testing.ScriptedServer.IHAVEOPT;
import static io.jnbd.testing.ScriptedServer.NBDMAGIC;
import static io.jnbd.testing.ScriptedServer.OLDSTYLE_MAGIC;
import static io.jnbd.testing.ScriptedServer.OPT_EXTENDED_HEADERS;
import static io.jnbd.testing.ScriptedServer.OPT_GO;
import static io.jnbd.testing.ScriptedServer.OPT_STRUCTURED_REPLY;
import static io.jnbd.testing.ScriptedServer.REP_ACK;
import static io.jnbd.testing.ScriptedServer.REP_ERR_UNSUP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Servers, or someone in the middle, trying to keep a client that wants TLS
 * in plaintext (libnbd's CVE-2019-14842 was such a downgrade). With TLS
 * required the handle never sends an option after NBD_OPT_STARTTLS, let alone
 * a command, in plaintext, and never takes plaintext for TLS; with TLS
 * allowed it goes on in plaintext only when the server declines STARTTLS.
 */
class TlsDowngradeTest extends FaultTestBase {
    private static final int OPT_ABORT = 2;
    private static final int OPT_STARTTLS = 5;
    private static final int REP_ERR_POLICY = 0x80000002;
    private static final int REP_ERR_INVALID = 0x80000003;
    private static final int REP_ERR_TLS_REQD = 0x80000005;
    private static final int ENOTSUP = 95;
    private static final int ECONNRESET = 104;
    private static final byte[] NONE = new byte[0];
    /** TLS record type of a handshake message: what a ClientHello starts with. */
    private static final int TLS_HANDSHAKE = 22;

    /**
     * The first TLS handshake of a JVM spends about a second initializing JSSE
     * (the system trust store, key generation); do that here, outside the
     * time limit that catches hangs.
     */
    @BeforeAll
    static void warmUpJsse() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(true);
        engine.beginHandshake();
        engine.wrap(new ByteBuffer[0], ByteBuffer.allocate(engine.getSession().getPacketBufferSize()));
    }

    private NbdHandle tlsHandle(Tls mode) {
        NbdHandle h = newHandle();
        h.setTls(mode);
        // No such directory: the system's trusted CAs, which none of these servers gets far enough to meet.
        h.setTlsCertificates("/nonexistent");
        return h;
    }

    /**
     * Connects with TLS {@code mode} to {@code script}, which must fail, and
     * checks that the client sent {@code sent} and no more. The client's last
     * message may still be on its way to the script when the call fails, so
     * the server is given a moment to read it before it is closed.
     */
    private void connectFails(Tls mode, ScriptedServer.Script script, int errno, String what, List<String> sent)
            throws Exception {
        try (ScriptedServer s = ScriptedServer.start(script); NbdHandle h = tlsHandle(mode)) {
            NbdException e = fails(() -> h.connectUnix(s.socket()));
            assertError(e, "connectUnix", errno, what);
            assertTrue(h.aioIsDead(), h.connectionState());
            long deadline = System.nanoTime() + PROMPTLY.toNanos();
            while (!s.received().equals(sent) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(sent, s.received());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {REP_ERR_UNSUP, REP_ERR_POLICY, REP_ERR_INVALID})
    void requireFailsWhenTheServerRefusesStarttls(int refusal) throws Exception {
        // Nothing but NBD_OPT_ABORT after the refusal.
        connectFails(Tls.REQUIRE, s -> {
            s.greet();
            s.readOption(OPT_STARTTLS);
            s.optionReply(OPT_STARTTLS, refusal, NONE);
            s.readOption(OPT_ABORT);
        }, ENOTSUP, "server refused TLS, but handle TLS setting is 'require'", List.of("option 5", "option 2"));
    }

    @Test
    void requireNeverTakesPlaintextAfterTheServerAcceptedStarttls() throws Exception {
        connectFails(Tls.REQUIRE, s -> {
            s.greet();
            s.readOption(OPT_STARTTLS);
            s.optionReply(OPT_STARTTLS, REP_ACK, NONE);
            byte[] hello = s.readRaw(5);
            assertEquals(TLS_HANDSHAKE, hello[0], "the client starts TLS");
            // Then answers in plaintext, as a server that never meant to do TLS would.
            s.optionReply(OPT_GO, REP_ACK, NONE);
        }, EPROTO, "accepted NBD_OPT_STARTTLS but did not answer in TLS", List.of("option 5", "raw 5"));
    }

    @Test
    void allowNeverTakesPlaintextAfterTheServerAcceptedStarttls() throws Exception {
        connectFails(Tls.ALLOW, s -> {
            s.greet();
            s.readOption(OPT_STARTTLS);
            s.optionReply(OPT_STARTTLS, REP_ACK, NONE);
            s.readRaw(5);
            s.optionReply(OPT_GO, REP_ACK, NONE);
        }, EPROTO, "accepted NBD_OPT_STARTTLS but did not answer in TLS", List.of("option 5", "raw 5"));
    }

    @Test
    void plaintextSentWithTheAckIsRefused() throws Exception {
        // Bytes that come with the ACK, before any TLS: the injection of a man in the middle.
        connectFails(Tls.REQUIRE, s -> {
            s.greet();
            s.readOption(OPT_STARTTLS);
            s.optionReply(OPT_STARTTLS, REP_ACK, NONE);
            s.optionReply(OPT_STRUCTURED_REPLY, REP_ACK, NONE);
            s.readRaw(0);
        }, EPROTO, "NBD_OPT_STARTTLS", List.of("option 5", "raw 0"));
    }

    @Test
    void serverHangingUpInTheHandshakeIsAnError() throws Exception {
        connectFails(Tls.REQUIRE, s -> {
            s.greet();
            s.readOption(OPT_STARTTLS);
            s.optionReply(OPT_STARTTLS, REP_ACK, NONE);
            s.readRaw(5);
        }, ECONNRESET, "closed the connection during the TLS handshake", List.of("option 5", "raw 5"));
    }

    @Test
    void requireRefusesAnOldstyleServer() throws Exception {
        connectFails(Tls.REQUIRE, s -> s.raw(ByteBuffer.allocate(152).putLong(NBDMAGIC).putLong(OLDSTYLE_MAGIC)
                .putLong(1 << 20).putShort((short) 0).putShort((short) 1).array()),
                ENOTSUP, "server is oldstyle, but handle TLS setting is 'require'", List.of());
    }

    @Test
    void requireRefusesANewstyleServerWithoutFixedNewstyle() throws Exception {
        connectFails(Tls.REQUIRE, s -> {
            s.raw(ByteBuffer.allocate(18).putLong(NBDMAGIC).putLong(IHAVEOPT).putShort((short) 0).array());
            try {
                s.readRaw(4);
                throw new AssertionError("the client answered a server it cannot use");
            } catch (EOFException | ClosedChannelException expected) {
                // It hung up without a word (and the test may have closed the server already).
            }
        }, ENOTSUP, "server is not using fixed newstyle, but handle TLS setting is 'require'", List.of());
    }

    @Test
    void allowGoesOnInPlaintextWhenTheServerDeclines() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
            srv.greet();
            srv.readOption(OPT_STARTTLS);
            srv.optionReply(OPT_STARTTLS, REP_ERR_POLICY, NONE);
            srv.readOption(OPT_EXTENDED_HEADERS);
            srv.optionReply(OPT_EXTENDED_HEADERS, REP_ERR_UNSUP, NONE);
            srv.readOption(OPT_STRUCTURED_REPLY);
            srv.optionReply(OPT_STRUCTURED_REPLY, REP_ACK, NONE);
            srv.readOption(OPT_GO);
            srv.exportInfo(OPT_GO, 1 << 20, ScriptedServer.EXPORT_FLAGS);
            srv.optionReply(OPT_GO, REP_ACK, NONE);
        }); NbdHandle h = tlsHandle(Tls.ALLOW)) {
            h.connectUnix(s.socket());
            assertFalse(h.getTlsNegotiated());
            assertTrue(h.getUri().startsWith("nbd+unix:"), h.getUri());
            assertEquals(1 << 20, h.getSize());
        }
    }

    @Test
    void disableFailsClearlyWhenTheServerRequiresTls() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
            srv.greet();
            for (int option : new int[] {OPT_EXTENDED_HEADERS, OPT_STRUCTURED_REPLY, OPT_GO}) {
                srv.readOption(option);
                srv.optionReply(option, REP_ERR_TLS_REQD, NONE);
            }
        }); NbdHandle h = newHandle()) {
            NbdException e = fails(() -> h.connectUnix(s.socket()));
            assertError(e, "connectUnix", ENOTSUP, "server requires TLS encryption first");
        }
    }
}
