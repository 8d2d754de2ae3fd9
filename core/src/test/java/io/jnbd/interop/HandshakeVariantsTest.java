package io.jnbd.interop;

import io.jnbd.HandshakeFlag;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Tls;
import io.jnbd.testing.ScriptedServer;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.jnbd.testing.ScriptedServer.OPT_EXTENDED_HEADERS;
import static io.jnbd.testing.ScriptedServer.OPT_GO;
import static io.jnbd.testing.ScriptedServer.OPT_STRUCTURED_REPLY;
import static io.jnbd.testing.ScriptedServer.REP_ACK;
import static io.jnbd.testing.ScriptedServer.REP_ERR_UNSUP;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The handshake's variants: NBD_OPT_EXPORT_NAME fallback, padding zeroes, handshake flag masks. */
class HandshakeVariantsTest {
    private static final int OPT_EXPORT_NAME = 1;

    private static List<String> nbdkit(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static void roundTrip(NbdHandle h) {
        byte[] data = "padding-proof".getBytes(StandardCharsets.US_ASCII);
        h.pwrite(data, 1000);
        byte[] back = new byte[data.length];
        h.pread(back, 1000);
        assertArrayEquals(data, back);
    }

    @Test
    void serverWithoutGoGetsExportName() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(server -> {
            assertEquals(HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES, server.greet());
            server.readOption(OPT_EXTENDED_HEADERS);
            server.optionReply(OPT_EXTENDED_HEADERS, REP_ERR_UNSUP, new byte[0]);
            server.readOption(OPT_STRUCTURED_REPLY);
            server.optionReply(OPT_STRUCTURED_REPLY, REP_ERR_UNSUP, new byte[0]);
            server.readOption(OPT_GO);
            server.optionReply(OPT_GO, REP_ERR_UNSUP, new byte[0]);
            ScriptedServer.Option name = server.readOption(OPT_EXPORT_NAME);
            assertEquals("disk", new String(name.data(), StandardCharsets.UTF_8));
            // NO_ZEROES was agreed: size and flags only.
            server.raw(ByteBuffer.allocate(10).putLong(123456789).putShort((short) 3).array());
        }); NbdHandle h = new NbdHandle()) {
            h.setExportName("disk");
            h.connectUnix(s.socket());
            assertEquals(123456789, h.getSize());
            assertTrue(h.isReadOnly());
            assertFalse(h.getStructuredRepliesNegotiated());
            assertEquals("newstyle-fixed", h.getProtocol());
        }
    }

    @Test
    void nonFixedNewstyleServerPadsWithZeroes() {
        // nbdkit masking both handshake flags: plain newstyle, and without NO_ZEROES the
        // 124 padding bytes follow NBD_OPT_EXPORT_NAME's reply.
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("--mask-handshake=0", "memory", "1M"));
            assertEquals("newstyle", h.getProtocol());
            assertFalse(h.getStructuredRepliesNegotiated());
            assertEquals(1 << 20, h.getSize());
            roundTrip(h);
        }
    }

    @Test
    void fixedNewstyleWithoutNoZeroes() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("--mask-handshake=1", "memory", "1M"));
            assertEquals("newstyle-fixed", h.getProtocol());
            assertEquals(HandshakeFlag.MASK, h.getHandshakeFlags(), "the setting is ours, not what was agreed");
            roundTrip(h);
        }
        try (NbdHandle h = new NbdHandle()) {
            // Our side refusing NO_ZEROES: the server must send the padding after EXPORT_NAME.
            h.setHandshakeFlags(0);
            h.connectCommand(nbdkit("memory", "1M"));
            roundTrip(h);
        }
    }

    @Test
    void optModeNeedsFixedNewstyleForOptions() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectCommand(nbdkit("--mask-handshake=0", "memory", "1M"));
            assertTrue(h.aioIsNegotiating());
            NbdException list = assertThrows(NbdException.class, () -> h.optList((n, d) -> 0));
            assertEquals(95, list.getErrno(), list.getMessage());
            assertTrue(h.aioIsNegotiating(), "the refusal is local; the connection goes on");
            h.optGo();
            roundTrip(h);
        }
    }

    @Test
    void preadInitializeDecidesWhatAFailedReadLeaves() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("--filter=error", "memory", "1M", "error-pread=EIO", "error-pread-rate=100%"));
            byte[] buf = new byte[512];
            Arrays.fill(buf, (byte) 0x55);
            assertEquals(5, assertThrows(NbdException.class, () -> h.pread(buf, 0)).getErrno());
            assertArrayEquals(new byte[512], buf, "zeroed before the read, so no stale data leaks");
            h.setPreadInitialize(false);
            Arrays.fill(buf, (byte) 0x55);
            assertThrows(NbdException.class, () -> h.pread(buf, 0));
            byte[] untouched = new byte[512];
            Arrays.fill(untouched, (byte) 0x55);
            assertArrayEquals(untouched, buf);
        }
    }

    @Test
    void libnbdDebugEnvironmentTurnsDebuggingOn() throws Exception {
        String launcher = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path src = Servers.tempDir().resolve("Debug.java");
        Files.writeString(src, "void main() { System.out.println(new io.jnbd.NbdHandle().getDebug()); }");
        for (String value : List.of("1", "0")) {
            ProcessBuilder pb = new ProcessBuilder(launcher, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), src.toString()).redirectErrorStream(true);
            pb.environment().put("LIBNBD_DEBUG", value);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(0, p.waitFor());
            assertEquals(value.equals("1") ? "true" : "false", out);
        }
    }

    /** libnbd's newstyle-limited.c: nbdkit masking fixed newstyle, with export "a" only. */
    private static List<String> limitedNewstyle() {
        return nbdkit("--mask-handshake=0", "eval", "list_exports=printf a\\nb\\n", "get_size=echo 1048576",
                "open=if [ \"$3\" != a ]; then exit 1; fi; truncate --size=1048576 $tmpdir/a",
                "pread=dd bs=1 skip=$4 count=$3 if=$tmpdir/a 2>/dev/null || exit 1",
                "pwrite=dd bs=1 conv=notrunc seek=$4 of=$tmpdir/a 2>/dev/null || exit 1", "can_write=exit 0");
    }

    /**
     * libnbd's newstyle-limited.c: TLS cannot be required, only optGo can
     * succeed (as NBD_OPT_EXPORT_NAME), optAbort leaves the handle dead, a
     * wrong name kills the connection, and the right one works.
     */
    @Test
    void plainNewstyleServerAllowsOnlyExportName() {
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("a");
            h.setTls(Tls.REQUIRE);
            assertThrows(NbdException.class, () -> h.connectCommand(limitedNewstyle()));
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectCommand(limitedNewstyle());
            assertTrue(h.aioIsNegotiating());
            assertEquals(95, assertThrows(NbdException.class, () -> h.optList((n, d) -> 0)).getErrno());
            assertEquals(95, assertThrows(NbdException.class, h::optInfo).getErrno());
            h.optAbort();
            assertTrue(h.aioIsDead(), "without options, aborting can only hang up: " + h.connectionState());
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectCommand(limitedNewstyle());
            h.setExportName("b");
            assertThrows(NbdException.class, h::optGo);
            assertTrue(h.aioIsDead(), "NBD_OPT_EXPORT_NAME allows no second try: " + h.connectionState());
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("a");
            h.addMetaContext("base:allocation");
            h.connectCommand(limitedNewstyle());
            assertTrue(h.aioIsReady());
            assertEquals("newstyle", h.getProtocol());
            assertFalse(h.getStructuredRepliesNegotiated());
            assertFalse(h.canMetaContext("base:allocation"));
            assertEquals(1 << 20, h.getSize());
            roundTrip(h);
            h.shutdown();
        }
    }
}
