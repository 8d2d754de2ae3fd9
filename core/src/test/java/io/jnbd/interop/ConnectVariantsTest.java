package io.jnbd.interop;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every way of reaching a server that is not a subprocess: host names, IPv4
 * and IPv6 literals, service names, a caller's own socket, socket addresses,
 * URIs, and the errors of a port or path with nobody there. Each server's
 * export has its own size, so a size proves which server answered.
 */
class ConnectVariantsTest {
    static final int ENOENT = 2;
    static final int ECONNREFUSED = 111;
    static final long TCP_SIZE = 4L << 20;
    static final long UNIX_SIZE = 2L << 20;
    static final long IPV6_SIZE = 3L << 20;
    static final long SERVICE_SIZE = 5L << 20;

    static Servers.Running tcp;
    static Servers.Running unix;
    static Servers.Running ipv6;

    @BeforeAll
    static void start() throws Exception {
        tcp = Servers.nbdkitTcp(Servers.tempDir(), "memory", Long.toString(TCP_SIZE));
        unix = Servers.nbdkitUnix(Servers.tempDir(), "memory", Long.toString(UNIX_SIZE));
        if (MoreServers.canBind("::1")) {
            ipv6 = MoreServers.nbdkitTcpOn(Servers.tempDir(), "::1", Servers.freePort(), "memory",
                    Long.toString(IPV6_SIZE));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        for (Servers.Running r : new Servers.Running[]{tcp, unix, ipv6}) {
            if (r != null) {
                r.close();
            }
        }
    }

    static String tcpPort() {
        return Integer.toString(tcp.port);
    }

    /** Writes {@code marker} at 0 on {@code h}, then reads it back through a new connection to {@code h.getUri()}. */
    static void uriReconnects(NbdHandle h, String marker) {
        byte[] m = marker.getBytes(StandardCharsets.US_ASCII);
        h.pwrite(m, 0);
        String uri = h.getUri();
        try (NbdHandle again = new NbdHandle()) {
            again.connectUri(uri);
            assertEquals(h.getSize(), again.getSize(), uri);
            assertEquals(h.getExportName(), again.getExportName(), uri);
            byte[] back = new byte[m.length];
            again.pread(back, 0);
            assertArrayEquals(m, back, "the same server answers " + uri);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "127.0.0.1"})
    void connectTcpByNameAndIpv4Literal(String host) {
        try (NbdHandle h = new NbdHandle()) {
            h.connectTcp(host, tcpPort());
            assertEquals(TCP_SIZE, h.getSize());
            assertEquals("nbd://" + host + ":" + tcpPort() + "/", h.getUri());
            uriReconnects(h, "via " + host);
        }
    }

    @Test
    void connectTcpIpv6Literal() {
        Assumptions.assumeTrue(ipv6 != null, "cannot bind ::1 here");
        try (NbdHandle h = new NbdHandle()) {
            h.connectTcp("::1", Integer.toString(ipv6.port));
            assertEquals(IPV6_SIZE, h.getSize());
            assertEquals("nbd://[::1]:" + ipv6.port + "/", h.getUri());
            uriReconnects(h, "via ::1");
        }
    }

    @Test
    void connectTcpWithTheNbdServiceName() throws Exception {
        // /etc/services maps "nbd" to 10809; use it only if nothing else holds the port.
        Assumptions.assumeTrue(MoreServers.canBind("127.0.0.1", 10809), "port 10809 is busy");
        try (Servers.Running s = MoreServers.nbdkitTcpOn(Servers.tempDir(), "127.0.0.1", 10809, "memory",
                Long.toString(SERVICE_SIZE));
             NbdHandle h = new NbdHandle()) {
            h.connectTcp("127.0.0.1", "nbd");
            assertEquals(SERVICE_SIZE, h.getSize());
        }
    }

    @Test
    void connectTcpWithAServiceNameFromEtcServices() throws Exception {
        // Another name from /etc/services, so that the lookup itself is what finds the port.
        MoreServers.Service service = MoreServers.freeService();
        Assumptions.assumeTrue(service != null, "no free unprivileged port in /etc/services");
        try (Servers.Running s = MoreServers.nbdkitTcpOn(Servers.tempDir(), "127.0.0.1", service.port(), "memory",
                Long.toString(SERVICE_SIZE));
             NbdHandle h = new NbdHandle()) {
            h.connectTcp("127.0.0.1", service.name());
            assertEquals(SERVICE_SIZE, h.getSize(), service.toString());
        }
    }

    @Test
    void connectSocketTakesOverACallersTcpChannel() throws IOException {
        SocketChannel sc = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), tcp.port));
        try (NbdHandle h = new NbdHandle()) {
            h.connectSocket(sc);
            assertEquals(TCP_SIZE, h.getSize());
            byte[] back = new byte[512];
            h.pread(back, TCP_SIZE - 512);
            NbdException e = assertThrows(NbdException.class, h::getUri);
            assertEquals(95, e.getErrno(), "no URI names a socket handed in (ENOTSUP)");
        }
        assertFalse(sc.isOpen(), "the handle owns the socket and closes it");
    }

    @Test
    void connectSocketTakesOverACallersUnixChannel() throws IOException {
        SocketChannel sc = SocketChannel.open(StandardProtocolFamily.UNIX);
        sc.connect(UnixDomainSocketAddress.of(unix.socket));
        try (NbdHandle h = new NbdHandle()) {
            h.connectSocket(sc);
            assertEquals(UNIX_SIZE, h.getSize());
        }
        assertFalse(sc.isOpen());
    }

    @Test
    void aioConnectInetSocketAddressWithAPollLoop() {
        try (NbdHandle h = new NbdHandle()) {
            h.aioConnect(new InetSocketAddress(InetAddress.getLoopbackAddress(), tcp.port));
            while (!h.aioIsReady()) {
                assertFalse(h.aioIsDead(), h.connectionState());
                h.poll(-1);
            }
            assertEquals(TCP_SIZE, h.getSize());
            uriReconnects(h, "aio inet");
        }
    }

    @Test
    void aioConnectUnixDomainSocketAddressWithAPollLoop() {
        try (NbdHandle h = new NbdHandle()) {
            h.aioConnect(UnixDomainSocketAddress.of(unix.socket));
            while (!h.aioIsReady()) {
                assertFalse(h.aioIsDead(), h.connectionState());
                h.poll(-1);
            }
            assertEquals(UNIX_SIZE, h.getSize());
            uriReconnects(h, "aio unix");
        }
    }

    @Test
    void connectUriTcpAndUnix() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectUri("nbd://127.0.0.1:" + tcpPort() + "/");
            assertEquals(TCP_SIZE, h.getSize());
        }
        try (NbdHandle h = new NbdHandle()) {
            h.connectUri("nbd+unix:///?socket=" + unix.socket);
            assertEquals(UNIX_SIZE, h.getSize());
            assertEquals("nbd+unix:///?socket=" + unix.socket, h.getUri());
        }
        // libnbd's connect-uri-nbd-unix-uppercase: scheme and parameter names are case-insensitive.
        try (NbdHandle h = new NbdHandle()) {
            h.connectUri("NBD+UNIX:///?SOCKET=" + unix.socket);
            assertEquals(UNIX_SIZE, h.getSize());
        }
    }

    @Test
    void getUriKeepsTheExportName() {
        // The memory plugin serves any name; the name must survive the round trip through getUri.
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("some/export");
            h.connectUnix(unix.socket.toString());
            assertTrue(h.getUri().startsWith("nbd+unix:///"), h.getUri());
            uriReconnects(h, "named");
        }
    }

    @Test
    void closedPortIsRefused() throws IOException {
        int port = Servers.freePort();
        try (NbdHandle h = new NbdHandle()) {
            NbdException e = assertThrows(NbdException.class, () -> h.connectTcp("127.0.0.1",
                    Integer.toString(port)));
            assertEquals(ECONNREFUSED, e.getErrno(), e.getMessage());
            assertTrue(e.getMessage().startsWith("connectTcp: connect: 127.0.0.1:" + port
                    + ": could not connect to remote host"), e.getMessage());
            // As in libnbd, a TCP connect that never connected leaves the handle as new, ready to try again.
            assertTrue(h.aioIsCreated(), h.connectionState());
            assertThrows(NbdException.class, () -> h.pread(new byte[1], 0));
            h.connectUnix(unix.socket.toString());
            assertTrue(h.aioIsReady());
        }
        try (NbdHandle h = new NbdHandle()) {
            NbdException e = assertThrows(NbdException.class, () -> h.connectTcp("no-such-host.invalid", "10809"));
            assertEquals(0, e.getErrno(), "libnbd reports getaddrinfo failures without an errno");
            assertTrue(e.getMessage().startsWith("connectTcp: getaddrinfo: hostname \"no-such-host.invalid\""),
                    e.getMessage());
            assertTrue(h.aioIsCreated(), h.connectionState());
        }
        try (NbdHandle h = new NbdHandle()) {
            h.aioConnectTcp("127.0.0.1", Integer.toString(port));
            NbdException e = assertThrows(NbdException.class, () -> {
                while (true) {
                    h.poll(-1);
                }
            });
            assertEquals(ECONNREFUSED, e.getErrno(), e.getMessage());
            assertTrue(h.aioIsCreated(), h.connectionState());
        }
        try (NbdHandle h = new NbdHandle()) {
            h.aioConnect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            NbdException e = assertThrows(NbdException.class, () -> {
                while (true) {
                    h.poll(-1);
                }
            });
            assertEquals(ECONNREFUSED, e.getErrno(), e.getMessage());
            // aioConnect is libnbd's nbd_aio_connect: a failed connect(2) leaves the handle dead.
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }

    @Test
    void missingUnixSocketIsEnoent() throws IOException {
        Path missing = Servers.tempDir().resolve("no-such.sock");
        try (NbdHandle h = new NbdHandle()) {
            NbdException e = assertThrows(NbdException.class, () -> h.connectUnix(missing.toString()));
            assertEquals(ENOENT, e.getErrno(), e.getMessage());
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }
}
