package io.jnbd.interop;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Tls;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Pki;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS against qemu-nbd's {@code tls-creds-x509} (with and without
 * {@code verify-peer}) and {@code tls-creds-psk}, and libnbd's nbdinfo on the
 * same servers and credentials.
 */
class TlsQemuNbdTest {
    private static final int SIZE = 1 << 20;
    private static final int EACCES = 13;

    private static Pki pki;
    private Path dir;
    private Path image;
    private Servers.Running server;

    @BeforeAll
    static void makeCredentials() throws Exception {
        Servers.require("qemu-nbd");
        pki = Pki.create();
    }

    @AfterAll
    static void removeCredentials() throws Exception {
        if (pki != null) {
            pki.close();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        dir = Servers.tempDir();
        image = dir.resolve("disk.raw");
        byte[] data = new byte[SIZE];
        new Random(3).nextBytes(data);
        Files.write(image, data);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
        MoreServers.deleteTree(dir);
    }

    /** qemu-nbd with these credentials ({@code --object}) on a Unix socket. */
    private Servers.Running qemuNbd(String tlsObject) throws Exception {
        Path sock = dir.resolve("q.sock");
        Path pid = dir.resolve("q.pid");
        server = Servers.start(List.of(Servers.require("qemu-nbd"), "-t", "-k", sock.toString(), "--pid-file",
                pid.toString(), "-f", "raw", "--object", tlsObject, "--tls-creds", "tls0", image.toString()),
                pid, sock, -1);
        return server;
    }

    private void readsTheImage(NbdHandle h) throws Exception {
        assertTrue(h.getTlsNegotiated());
        assertEquals(SIZE, h.getSize());
        byte[] got = new byte[SIZE];
        h.pread(got, 0);
        assertArrayEquals(Files.readAllBytes(image), got);
        byte[] block = new byte[4096];
        new Random(5).nextBytes(block);
        h.pwrite(block, 8192);
        h.flush();
        byte[] onDisk = new byte[4096];
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            f.seek(8192);
            f.readFully(onDisk);
        }
        assertArrayEquals(block, onDisk);
    }

    @Test
    void x509() throws Exception {
        Servers.Running s = qemuNbd("tls-creds-x509,id=tls0,endpoint=server,verify-peer=off,dir=" + pki.server);
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.connectUnix(s.socket.toString());
            readsTheImage(h);
            h.shutdown();
        }
        assertEquals(Integer.toString(SIZE), MoreServers.nbdinfoJson("nbds+unix:///?socket=" + s.socket
                + "&tls-certificates=" + pki.clientCaOnly).get("export-size"));
    }

    @Test
    void x509WithVerifyPeer() throws Exception {
        Servers.Running s = qemuNbd("tls-creds-x509,id=tls0,endpoint=server,verify-peer=on,dir=" + pki.server);
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.client.toString());
            h.connectUnix(s.socket.toString());
            readsTheImage(h);
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            NbdException e = assertThrows(NbdException.class, () -> h.connectUnix(s.socket.toString()));
            assertEquals(EACCES, e.getErrno(), e.getMessage());
            assertTrue(e.getMessage().contains("client certificate"), e.getMessage());
        }
    }

    @Test
    void psk() throws Exception {
        Path pskDir = Files.createDirectory(dir.resolve("psk"));
        Files.copy(pki.psk, pskDir.resolve("keys.psk"));
        Servers.Running s = qemuNbd("tls-creds-psk,id=tls0,endpoint=server,dir=" + pskDir);
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(pki.psk.toString());
            h.setTlsUsername(Pki.PSK_USER);
            h.connectUnix(s.socket.toString());
            readsTheImage(h);
            h.shutdown();
        }
        String uri = "nbds+unix://" + Pki.PSK_USER + "@/?socket=" + s.socket + "&tls-psk-file=" + pki.psk;
        assertEquals(Integer.toString(SIZE), MoreServers.nbdinfoJson(uri).get("export-size"));
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(uri);
            readsTheImage(h);
        }
    }
}
