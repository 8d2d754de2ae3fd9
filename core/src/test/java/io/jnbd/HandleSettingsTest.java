package io.jnbd;

import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The settings of a new handle: libnbd's defaults, round trips, and rejected values. */
class HandleSettingsTest {

    @Test
    void defaultsAreLibnbds() {
        try (NbdHandle h = new NbdHandle()) {
            assertTrue(h.aioIsCreated());
            assertEquals("START: Handle after being initially created", h.connectionState());
            assertTrue(h.getHandleName().matches("nbd[0-9]+"), h.getHandleName());
            assertEquals("", h.getExportName());
            assertTrue(h.getRequestBlockSize());
            assertFalse(h.getFullInfo());
            assertEquals(Tls.DISABLE, h.getTls());
            assertTrue(h.getTlsVerifyPeer());
            assertEquals(System.getProperty("user.name"), h.getTlsUsername());
            assertTrue(h.getRequestExtendedHeaders());
            assertTrue(h.getRequestStructuredReplies());
            assertTrue(h.getRequestMetaContext());
            assertEquals(HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES, h.getHandshakeFlags());
            assertTrue(h.getPreadInitialize());
            assertEquals(Strict.MASK, h.getStrictMode());
            assertFalse(h.getOptMode());
            assertEquals(0, h.getNrMetaContexts());
            assertEquals("", h.getSocketActivationName());
            assertEquals(0, h.getPrivateData());
            assertEquals("jnbd", h.getPackageName());
            assertFalse(h.getVersion().isEmpty());
            assertTrue(h.supportsUri());
            assertTrue(h.supportsTls());
        }
    }

    @Test
    void handleNamesAreUnique() {
        try (NbdHandle a = new NbdHandle(); NbdHandle b = new NbdHandle()) {
            assertNotEquals(a.getHandleName(), b.getHandleName());
            a.setHandleName("disk0");
            assertEquals("disk0", a.getHandleName());
        }
    }

    @Test
    void settersRoundTrip() {
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("vm-disk");
            h.setRequestBlockSize(false);
            h.setFullInfo(true);
            h.setRequestExtendedHeaders(false);
            h.setRequestStructuredReplies(false);
            h.setRequestMetaContext(false);
            h.setHandshakeFlags(HandshakeFlag.FIXED_NEWSTYLE);
            h.setPreadInitialize(false);
            h.setStrictMode(Strict.BOUNDS | Strict.ZERO_SIZE);
            h.setOptMode(true);
            h.addMetaContext("base:allocation");
            h.addMetaContext("qemu:dirty-bitmap:b0");
            h.setSocketActivationName("disk");
            h.setTls(Tls.REQUIRE);
            h.setTlsVerifyPeer(false);
            h.setTlsUsername("alice");
            h.setTlsCertificates("/etc/pki/nbd");
            h.setTlsPskFile("/etc/nbd.psk");
            h.setTlsHostname("server.example");
            assertEquals(0, h.setPrivateData(42));
            assertEquals(42, h.setPrivateData(43));

            assertEquals("vm-disk", h.getExportName());
            assertFalse(h.getRequestBlockSize());
            assertTrue(h.getFullInfo());
            assertFalse(h.getRequestExtendedHeaders());
            assertFalse(h.getRequestStructuredReplies());
            assertFalse(h.getRequestMetaContext());
            assertEquals(HandshakeFlag.FIXED_NEWSTYLE, h.getHandshakeFlags());
            assertFalse(h.getPreadInitialize());
            assertEquals(Strict.BOUNDS | Strict.ZERO_SIZE, h.getStrictMode());
            assertTrue(h.getOptMode());
            assertEquals(2, h.getNrMetaContexts());
            assertEquals("qemu:dirty-bitmap:b0", h.getMetaContext(1));
            assertEquals("disk", h.getSocketActivationName());
            assertEquals(Tls.REQUIRE, h.getTls());
            assertFalse(h.getTlsVerifyPeer());
            assertEquals("alice", h.getTlsUsername());
            assertEquals("/etc/pki/nbd", h.getTlsCertificates());
            assertEquals("/etc/nbd.psk", h.getTlsPskFile());
            assertEquals("server.example", h.getTlsHostname());
            assertEquals(43, h.getPrivateData());
            h.clearMetaContexts();
            assertEquals(0, h.getNrMetaContexts());
        }
    }

    @Test
    void invalidValuesAreRejectedAndChangeNothing() {
        try (NbdHandle h = new NbdHandle()) {
            assertErrno(22, () -> h.setHandshakeFlags(4));
            assertEquals(HandshakeFlag.MASK, h.getHandshakeFlags());
            assertErrno(22, () -> h.setStrictMode(0x80));
            assertEquals(Strict.MASK, h.getStrictMode());
            assertErrno(22, () -> h.setUriAllowTransports(8));
            assertErrno(22, () -> h.getMetaContext(0));
            assertErrno(36, () -> h.setExportName("x".repeat(4097)));
            assertEquals("", h.getExportName());
            assertErrno(22, () -> h.setSocketActivationName("not a name!"));
            assertErrno(22, () -> h.killSubprocess(-1));
            assertErrno(3, () -> h.killSubprocess(15));
        }
    }

    @Test
    void nullArgumentsNameTheParameter() {
        try (NbdHandle h = new NbdHandle()) {
            assertEquals("exportName", assertThrows(NullPointerException.class, () -> h.setExportName(null))
                    .getMessage());
            assertEquals("hostname", assertThrows(NullPointerException.class, () -> h.connectTcp(null, "1"))
                    .getMessage());
            assertEquals("port", assertThrows(NullPointerException.class, () -> h.connectTcp("h", null))
                    .getMessage());
            assertEquals("unixsocket", assertThrows(NullPointerException.class, () -> h.connectUnix(null))
                    .getMessage());
            assertEquals("uri", assertThrows(NullPointerException.class, () -> h.connectUri(null)).getMessage());
            assertEquals("sock", assertThrows(NullPointerException.class, () -> h.connectSocket(null)).getMessage());
            assertEquals("addr", assertThrows(NullPointerException.class, () -> h.aioConnect(null)).getMessage());
            assertEquals("tls", assertThrows(NullPointerException.class, () -> h.setTls(null)).getMessage());
            assertEquals("name", assertThrows(NullPointerException.class, () -> h.addMetaContext(null)).getMessage());
            assertTrue(h.aioIsCreated(), "nothing changed");
        }
    }

    @Test
    void settingsOfTheCreatedStateAreRefusedOnceConnected() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
            NbdException e = assertThrows(NbdException.class, () -> h.setOptMode(true));
            assertEquals("setOptMode: invalid state: READY: the handle must be newly created", e.getMessage());
            assertEquals(22, e.getErrno());
            assertFalse(h.getOptMode());
            NbdException name = assertThrows(NbdException.class, () -> h.setExportName("other"));
            assertEquals("setExportName: invalid state: READY: the handle must be newly created, or negotiating",
                    name.getMessage());
            // Settings libnbd allows in any state still work.
            h.setStrictMode(0);
            h.setHandleName("renamed");
            assertEquals("renamed", h.getHandleName());
        }
    }

    @Test
    void debugMessagesGoToTheCallback() {
        List<String> messages = new ArrayList<>();
        try (NbdHandle h = new NbdHandle()) {
            h.setDebug(true);
            h.setDebugCallback((context, msg) -> {
                synchronized (messages) {
                    messages.add(context + ": " + msg);
                }
                return 0;
            });
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
            h.pread(new byte[512], 0);
            h.clearDebugCallback();
            h.setDebug(false);
        }
        synchronized (messages) {
            assertTrue(messages.stream().anyMatch(m -> m.contains("export size 1048576")), messages.toString());
            assertTrue(messages.stream().anyMatch(m -> m.contains("NBD_CMD_READ")), messages.toString());
        }
    }

    @Test
    void handshakeFlagsSelectTheProtocol() {
        try (NbdHandle h = new NbdHandle()) {
            h.setHandshakeFlags(0);
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
            // Without fixed newstyle only NBD_OPT_EXPORT_NAME may be sent: no structured replies.
            assertEquals("newstyle", h.getProtocol());
            assertFalse(h.getStructuredRepliesNegotiated());
            assertEquals(1L << 20, h.getSize());
            byte[] data = {9, 8, 7};
            h.pwrite(data, 100);
            byte[] back = new byte[3];
            h.pread(back, 100);
            assertEquals(9, back[0]);
        }
    }

    /** libnbd's debug.c. */
    @Test
    void debugFlagRoundTrips() {
        try (NbdHandle h = new NbdHandle()) {
            h.setDebug(true);
            assertTrue(h.getDebug());
            h.setDebug(false);
            assertFalse(h.getDebug());
        }
    }

    /** libnbd's get-version.c: the package's own name and the version it was built as. */
    @Test
    void packageNameAndVersion() {
        try (NbdHandle h = new NbdHandle()) {
            assertEquals("jnbd", h.getPackageName());
            assertTrue(h.getVersion().matches("[0-9]+\\.[0-9]+\\.[0-9]+(-SNAPSHOT)?"), h.getVersion());
        }
    }

    /** libnbd's private-data.c: the field is per handle. */
    @Test
    void privateDataIsPerHandle() {
        try (NbdHandle a = new NbdHandle(); NbdHandle b = new NbdHandle()) {
            assertEquals(0, a.getPrivateData());
            assertEquals(0, b.getPrivateData());
            assertEquals(0, a.setPrivateData(42));
            assertEquals(42, a.getPrivateData());
            assertEquals(0, b.setPrivateData(999));
            assertEquals(42, a.getPrivateData());
            assertEquals(999, b.getPrivateData());
            assertEquals(42, a.setPrivateData(43));
            assertEquals(999, b.getPrivateData());
            assertEquals(999, b.setPrivateData(998));
            assertEquals(43, a.getPrivateData());
            // Where C stores a pointer, any long fits.
            a.setPrivateData(Long.MIN_VALUE);
            assertEquals(Long.MIN_VALUE, a.getPrivateData());
        }
    }

    /**
     * libnbd's 140-explicit-close.py: closing says so once in the debug log,
     * and closing again does nothing (AutoCloseable's contract, where Python
     * raises ClosedHandle).
     */
    @Test
    void closeLogsOnceAndAgainIsANoOp() {
        List<String> messages = new ArrayList<>();
        NbdHandle h = new NbdHandle();
        h.setDebug(true);
        h.setDebugCallback((context, msg) -> {
            messages.add(msg);
            return 0;
        });
        h.close();
        h.close();
        assertEquals(1, messages.stream().filter(m -> m.startsWith("closing")).count(), messages.toString());
    }

    private static void assertErrno(int errno, org.junit.jupiter.api.function.Executable call) {
        NbdException e = assertThrows(NbdException.class, call);
        assertEquals(errno, e.getErrno(), e.getMessage());
    }
}
