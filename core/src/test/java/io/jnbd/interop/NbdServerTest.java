package io.jnbd.interop;

import io.jnbd.CmdFlag;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Tls;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Pki;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * nbd-server, the reference server: named exports over TCP, simple replies only
 * (3.24 has no structured replies), and a read-only export. nbd-server -d
 * serves one client and exits, so each test gets its own server.
 */
class NbdServerTest {
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final long DISK_SIZE = 2L << 20;
    static final long RO_SIZE = 1L << 20;

    Path dir;
    Path disk;
    Path ro;
    Servers.Running server;

    @BeforeEach
    void start() throws Exception {
        dir = Servers.tempDir();
        disk = dir.resolve("disk.img");
        ro = dir.resolve("ro.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(DISK_SIZE);
        }
        try (RandomAccessFile f = new RandomAccessFile(ro.toFile(), "rw")) {
            f.setLength(RO_SIZE);
            f.write("read-only contents".getBytes(StandardCharsets.US_ASCII));
        }
        Map<String, Map<String, String>> exports = new LinkedHashMap<>();
        exports.put("disk", Map.of("exportname", disk.toString(), "flush", "true", "fua", "true", "trim", "true"));
        exports.put("ro", Map.of("exportname", ro.toString(), "readonly", "true"));
        server = MoreServers.nbdServer(dir, exports);
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        MoreServers.deleteTree(dir);
    }

    String port() {
        return Integer.toString(server.port);
    }

    @Test
    void namedExportOverTcpWithSimpleReplies() throws Exception {
        byte[] data = new byte[192 * 1024];
        new Random(5).nextBytes(data);
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("disk");
            h.connectTcp("127.0.0.1", port());
            assertEquals("newstyle-fixed", h.getProtocol());
            assertFalse(h.getStructuredRepliesNegotiated(), "nbd-server 3.24 has no structured replies");
            assertFalse(h.getExtendedHeadersNegotiated());
            assertEquals(DISK_SIZE, h.getSize());
            assertFalse(h.isReadOnly());
            assertTrue(h.canFlush());
            assertTrue(h.canFua());
            assertTrue(h.canTrim());

            h.pwrite(data, 4096);
            h.pwrite(Arrays.copyOf(data, 512), 0, CmdFlag.FUA);
            h.flush();
            byte[] back = new byte[data.length];
            h.pread(back, 4096);
            assertArrayEquals(data, back);
            h.trim(65536, DISK_SIZE - 65536);
            h.shutdown();
        }
        // What the server says it wrote is in the file it serves.
        byte[] file = Files.readAllBytes(disk);
        assertArrayEquals(data, Arrays.copyOfRange(file, 4096, 4096 + data.length));
        assertArrayEquals(Arrays.copyOf(data, 512), Arrays.copyOf(file, 512));
    }

    @Test
    void optListListsTheExportsThenGoWorks() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectTcp("127.0.0.1", port());
            TreeSet<String> names = new TreeSet<>();
            TreeSet<String> descriptions = new TreeSet<>();
            int n = h.optList((name, description) -> {
                names.add(name);
                descriptions.add(description);
                return 0;
            });
            assertEquals(new TreeSet<>(List.of("disk", "ro")), names);
            assertEquals(new TreeSet<>(List.of("")), descriptions, "no descriptions: empty strings, as libnbd");
            assertEquals(2, n);
            h.setExportName("ro");
            h.optGo();
            assertEquals(RO_SIZE, h.getSize());
            byte[] back = new byte[18];
            h.pread(back, 0);
            assertEquals("read-only contents", new String(back, StandardCharsets.US_ASCII));
        }
    }

    @Test
    void unknownExportFailsWithEnoent() {
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("nope");
            NbdException e = assertThrows(NbdException.class, () -> h.connectTcp("127.0.0.1", port()));
            assertEquals(ENOENT, e.getErrno(), e.getMessage());
            assertTrue(h.aioIsDead());
        }
    }

    @Test
    void readOnlyExportRefusesWritesLocallyThenAtTheServer() throws Exception {
        byte[] before = Files.readAllBytes(ro);
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("ro");
            h.connectTcp("127.0.0.1", port());
            assertTrue(h.isReadOnly());
            NbdException local = assertThrows(NbdException.class, () -> h.pwrite(new byte[512], 0));
            assertEquals(EPERM, local.getErrno());
            assertTrue(local.getMessage().startsWith("pwrite: server does not support write operations"),
                    local.getMessage());

            h.setStrictMode(0);
            NbdException remote = assertThrows(NbdException.class, () -> h.pwrite(new byte[512], 0));
            assertEquals(EPERM, remote.getErrno(), remote.getMessage());
            assertTrue(h.aioIsReady(), "the server's refusal leaves the connection usable");
            byte[] back = new byte[18];
            h.pread(back, 0);
            assertEquals("read-only contents", new String(back, StandardCharsets.US_ASCII));
        }
        assertArrayEquals(before, Files.readAllBytes(ro));
    }

    /** libnbd's interop-nbd-server-tls: nbd-server with X.509 certificates and TLS forced. */
    @Test
    void tlsWithCertificates() throws Exception {
        try (Pki pki = Pki.create()) {
            Path tlsDir = Files.createDirectory(dir.resolve("tls"));
            Map<String, String> generic = Map.of("certfile", pki.server.resolve("server-cert.pem").toString(),
                    "keyfile", pki.server.resolve("server-key.pem").toString(),
                    "cacertfile", pki.server.resolve("ca-cert.pem").toString(), "force_tls", "true");
            byte[] data = new byte[64 * 1024];
            new Random(6).nextBytes(data);
            try (Servers.Running tls = MoreServers.nbdServer(tlsDir, generic,
                    Map.of("disk", Map.of("exportname", disk.toString(), "flush", "true")));
                 NbdHandle h = new NbdHandle()) {
                h.setTls(Tls.REQUIRE);
                // nbd-server with a CA file verifies its clients: a client certificate is needed.
                h.setTlsCertificates(pki.client.toString());
                h.setExportName("disk");
                h.connectTcp("localhost", Integer.toString(tls.port));
                assertTrue(h.getTlsNegotiated());
                assertEquals(DISK_SIZE, h.getSize());
                h.pwrite(data, 8192);
                h.flush();
                byte[] back = new byte[data.length];
                h.pread(back, 8192);
                assertArrayEquals(data, back);
                h.shutdown();
            }
            assertArrayEquals(data, Arrays.copyOfRange(Files.readAllBytes(disk), 8192, 8192 + data.length));
        }
    }
}
