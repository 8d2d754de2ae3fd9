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
import org.junit.jupiter.api.function.Executable;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS against nbdkit ({@code --tls=require|on|off}, X.509 and PSK, with and
 * without {@code --tls-verify-peer}), with libnbd's nbdinfo as a cross-check
 * of the same credentials. Every failure must be a clear, distinct error
 * before any export data moves.
 */
class TlsNbdkitTest {
    private static final int EPERM = 1;
    private static final int ENOENT = 2;
    private static final int EIO = 5;
    private static final int EACCES = 13;
    private static final int EINVAL = 22;
    private static final int ENOTSUP = 95;
    private static final int EKEYEXPIRED = 127;

    private static Pki pki;
    private Path dir;
    private final List<Servers.Running> servers = new ArrayList<>();

    @BeforeAll
    static void makeCredentials() throws Exception {
        Servers.require("nbdkit");
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
    }

    @AfterEach
    void tearDown() throws Exception {
        servers.forEach(Servers.Running::close);
        MoreServers.deleteTree(dir);
    }

    /** nbdkit serving 1 MiB of memory on a Unix socket, with these TLS options. */
    private Servers.Running unix(String... tlsArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of(tlsArgs));
        args.addAll(List.of("memory", "1M"));
        Servers.Running s = Servers.nbdkitUnix(serverDir(), args.toArray(String[]::new));
        servers.add(s);
        return s;
    }

    private Servers.Running tcp(String... tlsArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of(tlsArgs));
        args.addAll(List.of("memory", "1M"));
        Servers.Running s = Servers.nbdkitTcp(serverDir(), args.toArray(String[]::new));
        servers.add(s);
        return s;
    }

    /** A directory of its own for each server: they write their pid files there. */
    private Path serverDir() throws Exception {
        return Files.createDirectory(dir.resolve("server" + servers.size()));
    }

    private static String certs(Path serverDir) {
        return "--tls-certificates=" + serverDir;
    }

    /** Writes and reads back through {@code h}: the connection works end to end. */
    private static void roundTrip(NbdHandle h) {
        byte[] data = new byte[256 * 1024];
        new Random(7).nextBytes(data);
        h.pwrite(data, 4096);
        ByteBuffer back = ByteBuffer.allocateDirect(data.length);
        h.pread(back, 4096);
        byte[] got = new byte[data.length];
        back.flip().get(got);
        assertArrayEquals(data, got);
        byte[] small = new byte[100];
        h.pread(small, 4096 + 3);
        assertEquals(data[3], small[0]);
    }

    private static NbdException fails(int errno, String what, Executable call) {
        NbdException e = assertThrows(NbdException.class, call);
        assertTrue(e.getMessage().contains(what), () -> "expected \"" + what + "\" in: " + e.getMessage());
        assertEquals(errno, e.getErrno(), e::getMessage);
        return e;
    }

    // ---------------------------------------------------------------- X.509

    @Test
    void x509RequiredOverUnix() throws Exception {
        Servers.Running s = unix("--tls=require", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            List<String> debug = new ArrayList<>();
            h.setDebugCallback((context, message) -> {
                debug.add(message);
                return 0;
            });
            h.setDebug(true);
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.connectUnix(s.socket.toString());
            assertTrue(h.getTlsNegotiated());
            // GnuTLS follows the client's order, and jnbd puts AES-128-GCM first (X509Tls.preferAes128).
            assertTrue(debug.contains("connection is using TLSv1.3 TLS_AES_128_GCM_SHA256"), debug::toString);
            assertTrue(h.getStructuredRepliesNegotiated(), "options after STARTTLS were negotiated anew");
            assertEquals(1 << 20, h.getSize());
            roundTrip(h);
            assertTrue(h.getUri().startsWith("nbds+unix:///?socket="), h.getUri());
            h.shutdown();
        }
    }

    @Test
    void x509OverTcpChecksTheHostName() throws Exception {
        Servers.Running s = tcp("--tls=require", certs(pki.server));
        for (String host : List.of("localhost", "127.0.0.1")) {
            try (NbdHandle h = new NbdHandle()) {
                h.setTls(Tls.REQUIRE);
                h.setTlsCertificates(pki.clientCaOnly.toString());
                h.connectTcp(host, Integer.toString(s.port));
                assertTrue(h.getTlsNegotiated());
                assertEquals(host, h.getTlsHostname());
                roundTrip(h);
            }
        }
    }

    @Test
    void wrongHostIsRefusedUnlessTheNameIsSetOrVerificationIsOff() throws Exception {
        Servers.Running s = tcp("--tls=require", certs(pki.serverWrongHost));
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            fails(EPERM, "certificate is for other.example, not for 'localhost'",
                    () -> h.connectTcp("localhost", Integer.toString(s.port)));
            assertTrue(h.aioIsDead());
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.setTlsHostname("other.example");
            h.connectTcp("localhost", Integer.toString(s.port));
            roundTrip(h);
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.setTlsVerifyPeer(false);
            h.connectTcp("localhost", Integer.toString(s.port));
            roundTrip(h);
        }
    }

    @Test
    void untrustedCaIsRefused() throws Exception {
        Servers.Running s = unix("--tls=require", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientOtherCa.toString());
            fails(EPERM, "not signed by a trusted CA (trusted: ca-cert.pem in " + pki.clientOtherCa,
                    () -> h.connectUnix(s.socket.toString()));
        }
    }

    @Test
    void expiredCertificateIsRefused() throws Exception {
        Servers.Running s = unix("--tls=require", certs(pki.serverExpired));
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            fails(EKEYEXPIRED, "the server's certificate expired on 2002-01-01",
                    () -> h.connectUnix(s.socket.toString()));
        }
    }

    @Test
    void revokedCertificateIsRefused() throws Exception {
        Servers.Running revoked = unix("--tls=require", certs(pki.serverRevoked));
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientWithCrl.toString());
            fails(EPERM, "has been revoked", () -> h.connectUnix(revoked.socket.toString()));
        }
    }

    @Test
    void clientCertificatesForAServerThatVerifiesPeers() throws Exception {
        Servers.Running s = unix("--tls=require", "--tls-verify-peer", certs(pki.server));
        for (Path clientDir : List.of(pki.client, pki.clientPkcs8, pki.clientEc)) {
            try (NbdHandle h = new NbdHandle()) {
                h.setTls(Tls.REQUIRE);
                h.setTlsCertificates(clientDir.toString());
                h.connectUnix(s.socket.toString());
                roundTrip(h);
            }
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            fails(EACCES, "hung up right after the TLS handshake, before answering: it probably requires a client "
                    + "certificate, and none was offered (no client-cert.pem and client-key.pem in " + pki.clientCaOnly,
                    () -> h.connectUnix(s.socket.toString()));
        }
    }

    @Test
    void brokenKeyFilesAreReportedByName() throws Exception {
        Servers.Running s = unix("--tls=require", "--tls-verify-peer", certs(pki.server));
        Path noKey = Files.createDirectory(dir.resolve("no-key"));
        Files.copy(pki.client.resolve("ca-cert.pem"), noKey.resolve("ca-cert.pem"));
        Files.copy(pki.client.resolve("client-cert.pem"), noKey.resolve("client-cert.pem"));
        Path keyIsDir = Files.createDirectory(dir.resolve("key-is-dir"));
        Files.copy(pki.client.resolve("ca-cert.pem"), keyIsDir.resolve("ca-cert.pem"));
        Files.copy(pki.client.resolve("client-cert.pem"), keyIsDir.resolve("client-cert.pem"));
        Files.createDirectory(keyIsDir.resolve("client-key.pem"));
        Path garbage = Files.createDirectory(dir.resolve("garbage"));
        Files.copy(pki.client.resolve("ca-cert.pem"), garbage.resolve("ca-cert.pem"));
        Files.copy(pki.client.resolve("client-cert.pem"), garbage.resolve("client-cert.pem"));
        Files.writeString(garbage.resolve("client-key.pem"), "not a key\n");
        Path wrongKey = Files.createDirectory(dir.resolve("wrong-key"));
        Files.copy(pki.client.resolve("ca-cert.pem"), wrongKey.resolve("ca-cert.pem"));
        Files.copy(pki.client.resolve("client-cert.pem"), wrongKey.resolve("client-cert.pem"));
        Files.copy(pki.clientEc.resolve("client-key.pem"), wrongKey.resolve("client-key.pem"));

        Map<Path, String> cases = Map.of(
                noKey, noKey.resolve("client-cert.pem") + " has no matching " + noKey.resolve("client-key.pem"),
                keyIsDir, keyIsDir.resolve("client-key.pem") + ": cannot read",
                garbage, garbage.resolve("client-key.pem") + ": no private key block",
                wrongKey, "holds a EC key but " + wrongKey.resolve("client-cert.pem") + " certifies a RSA key");
        Map<Path, Integer> errnos = Map.of(noKey, ENOENT, keyIsDir, EIO, garbage, EINVAL, wrongKey, EINVAL);
        for (Path d : cases.keySet()) {
            try (NbdHandle h = new NbdHandle()) {
                h.setTls(Tls.REQUIRE);
                h.setTlsCertificates(d.toString());
                fails(errnos.get(d), cases.get(d), () -> h.connectUnix(s.socket.toString()));
                assertTrue(h.aioIsDead());
            }
        }
    }

    // ---------------------------------------------------------------- modes

    @Test
    void allowUsesTlsWhenTheServerOffersIt() throws Exception {
        Servers.Running s = unix("--tls=on", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.ALLOW);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.connectUnix(s.socket.toString());
            assertTrue(h.getTlsNegotiated());
            assertTrue(h.getUri().startsWith("nbds+unix:"), h.getUri());
            roundTrip(h);
        }
    }

    @Test
    void allowFallsBackToPlaintextOnlyWhenTheServerDeclines() throws Exception {
        Servers.Running off = unix("--tls=off");
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.ALLOW);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.connectUnix(off.socket.toString());
            assertFalse(h.getTlsNegotiated());
            assertTrue(h.getUri().startsWith("nbd+unix:"), h.getUri());
            roundTrip(h);
        }
    }

    @Test
    void allowNeverFallsBackAfterAFailedHandshake() throws Exception {
        Servers.Running s = unix("--tls=on", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.ALLOW);
            h.setTlsCertificates(pki.clientOtherCa.toString());
            fails(EPERM, "not signed by a trusted CA", () -> h.connectUnix(s.socket.toString()));
            assertTrue(h.aioIsDead());
        }
    }

    @Test
    void requireFailsWhenTheServerHasNoTls() throws Exception {
        Servers.Running off = unix("--tls=off");
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            fails(ENOTSUP, "server refused TLS, but handle TLS setting is 'require'",
                    () -> h.connectUnix(off.socket.toString()));
            assertTrue(h.aioIsDead());
        }
    }

    @Test
    void disableFailsClearlyWhenTheServerRequiresTls() throws Exception {
        Servers.Running s = unix("--tls=require", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            fails(ENOTSUP, "server requires TLS encryption first", () -> h.connectUnix(s.socket.toString()));
        }
    }

    @Test
    void requireRefusesServersWithoutFixedNewstyle() throws Exception {
        Servers.Running old = unix("--tls=on", certs(pki.server), "-o");
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            fails(ENOTSUP, "server is oldstyle, but handle TLS setting is 'require'",
                    () -> h.connectUnix(old.socket.toString()));
        }
        Servers.Running s = tcp("--tls=on", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setHandshakeFlags(0);
            fails(ENOTSUP, "server is not using fixed newstyle, but handle TLS setting is 'require'",
                    () -> h.connectTcp("localhost", Integer.toString(s.port)));
        }
    }

    @Test
    void optStarttlsInOptMode() throws Exception {
        Servers.Running s = unix("--tls=on", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.connectUnix(s.socket.toString());
            assertFalse(h.getTlsNegotiated());
            assertTrue(h.optStarttls());
            assertTrue(h.getTlsNegotiated());
            assertFalse(h.optStarttls(), "nbdkit refuses a second STARTTLS");
            assertTrue(h.getTlsNegotiated(), "and the session stays TLS");
            h.optGo();
            roundTrip(h);
        }
        Servers.Running off = tcp("--tls=off");
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectTcp("localhost", Integer.toString(off.port));
            assertFalse(h.optStarttls());
            assertFalse(h.getTlsNegotiated());
            h.optGo();
            roundTrip(h);
        }
    }

    @Test
    void aioOptStarttls() throws Exception {
        Servers.Running s = unix("--tls=on", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.connectUnix(s.socket.toString());
            int[] errors = {-1, -1};
            h.aioOptStarttls(error -> {
                errors[0] = error.get();
                return 1;
            });
            while (h.aioIsConnecting()) {
                h.poll(1000);
            }
            assertEquals(0, errors[0]);
            assertTrue(h.getTlsNegotiated());
            h.aioOptStarttls(error -> {
                errors[1] = error.get();
                return 1;
            });
            while (h.aioIsConnecting()) {
                h.poll(1000);
            }
            assertEquals(ENOTSUP, errors[1], "nbdkit refuses a second STARTTLS");
            h.optGo();
            roundTrip(h);
        }
    }

    @Test
    void optModeWithTlsRequiredHasAlreadyNegotiatedIt() throws Exception {
        Servers.Running s = unix("--tls=require", certs(pki.server));
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setTls(Tls.REQUIRE);
            h.setTlsCertificates(pki.clientCaOnly.toString());
            h.connectUnix(s.socket.toString());
            assertTrue(h.getTlsNegotiated());
            assertFalse(h.optStarttls());
            h.optGo();
            roundTrip(h);
        }
    }

    // ---------------------------------------------------------------- PSK

    @Test
    void pskRequired() throws Exception {
        Servers.Running s = unix("--tls=require", "--tls-psk=" + pki.psk);
        List<String> debug = new ArrayList<>();
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(pki.psk.toString());
            h.setTlsUsername(Pki.PSK_USER);
            h.setDebug(true);
            h.setDebugCallback((context, message) -> {
                debug.add(message);
                return 0;
            });
            h.connectUnix(s.socket.toString());
            assertTrue(h.getTlsNegotiated());
            roundTrip(h);
            h.shutdown();
        }
        assertTrue(debug.stream().anyMatch(m -> m.contains("TLS-PSK TLS 1.3")), debug::toString);
    }

    /** libnbd's interop-nbdkit-tls-psk-allow-enabled and -allow-fallback. */
    @Test
    void pskAllowUsesTlsWhenOfferedAndFallsBackWhenNot() throws Exception {
        Servers.Running on = unix("--tls=on", "--tls-psk=" + pki.psk);
        Servers.Running off = unix("--tls=off");
        for (Servers.Running s : List.of(on, off)) {
            try (NbdHandle h = new NbdHandle()) {
                h.setTls(Tls.ALLOW);
                h.setTlsPskFile(pki.psk.toString());
                h.setTlsUsername(Pki.PSK_USER);
                h.connectUnix(s.socket.toString());
                assertEquals(s == on, h.getTlsNegotiated());
                roundTrip(h);
            }
        }
    }

    @Test
    void pskOverTls12WhenTheServerHasNoTls13() throws Exception {
        Path config = Files.writeString(dir.resolve("gnutls.cfg"), "[overrides]\ndisabled-version = tls1.3\n");
        // env(1) execs nbdkit, so the pid and --exit-with-parent are nbdkit's own.
        Servers.Running s = Servers.start(List.of("env", "GNUTLS_SYSTEM_PRIORITY_FILE=" + config,
                Servers.require("nbdkit"), "-f", "--exit-with-parent", "-U", dir.resolve("tls12.sock").toString(),
                "-P", dir.resolve("tls12.pid").toString(), "--tls=require", "--tls-psk=" + pki.psk, "memory", "1M"),
                dir.resolve("tls12.pid"), dir.resolve("tls12.sock"), -1);
        servers.add(s);
        List<String> debug = new ArrayList<>();
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(pki.psk.toString());
            h.setTlsUsername(Pki.PSK_USER);
            h.setDebug(true);
            h.setDebugCallback((context, message) -> {
                debug.add(message);
                return 0;
            });
            h.connectUnix(s.socket.toString());
            roundTrip(h);
        }
        assertTrue(debug.stream().anyMatch(m -> m.contains("TLS-PSK TLS 1.2")), debug::toString);
    }

    @Test
    void pskFailuresAreReportedByName() throws Exception {
        Servers.Running s = unix("--tls=require", "--tls-psk=" + pki.psk);
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(pki.wrongPsk.toString());
            h.setTlsUsername(Pki.PSK_USER);
            fails(EACCES, "did not accept TLS-PSK user 'alice' with the key from " + pki.wrongPsk,
                    () -> h.connectUnix(s.socket.toString()));
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(pki.psk.toString());
            h.setTlsUsername("bob");
            fails(EINVAL, pki.psk + ": username bob was not found in PSK file",
                    () -> h.connectUnix(s.socket.toString()));
        }
        Path bob = Files.writeString(dir.resolve("bob.psk"), "bob:" + "ab".repeat(32) + "\n");
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(bob.toString());
            h.setTlsUsername("bob");
            fails(EACCES, "did not accept TLS-PSK user 'bob'",
                    () -> h.connectUnix(s.socket.toString()));
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(dir.resolve("missing.psk").toString());
            fails(ENOENT, dir.resolve("missing.psk") + ": No such file or directory",
                    () -> h.connectUnix(s.socket.toString()));
        }
    }

    // ---------------------------------------------------------------- URIs and libnbd

    @Test
    void nbdsUrisAndNbdinfoAgree() throws Exception {
        Servers.Running x509 = unix("--tls=require", certs(pki.server));
        String uri = "nbds+unix:///?socket=" + x509.socket + "&tls-certificates=" + pki.clientCaOnly;
        Map<String, String> libnbd = MoreServers.nbdinfoJson(uri);
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(uri);
            assertEquals(Tls.REQUIRE, h.getTls());
            assertTrue(h.getTlsNegotiated());
            assertEquals(libnbd.get("export-size"), Long.toString(h.getSize()));
            assertEquals(uri.replace("nbds+unix:///?", "nbds+unix:///?"), h.getUri());
        }

        Servers.Running psk = tcp("--tls=require", "--tls-psk=" + pki.psk);
        String pskUri = "nbds://" + Pki.PSK_USER + "@localhost:" + psk.port + "/?tls-psk-file=" + pki.psk;
        Map<String, String> libnbdPsk = MoreServers.nbdinfoJson(pskUri);
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(pskUri);
            assertEquals(Pki.PSK_USER, h.getTlsUsername());
            assertEquals(libnbdPsk.get("export-size"), Long.toString(h.getSize()));
            roundTrip(h);
            assertEquals("nbds://alice@localhost:" + psk.port + "/?tls-psk-file=" + pki.psk, h.getUri());
        }
    }

    /**
     * libnbd's connect-uri-nbds-unix-certs, -tls-hostname and
     * -tls-verify-peer-false: nbds+unix URIs with a user, client certificates,
     * and each TLS query parameter, to a server that verifies its peers.
     */
    @Test
    void nbdsUnixUrisWithAUserAndClientCertificates() throws Exception {
        Servers.Running s = unix("--tls=require", "--tls-verify-peer", certs(pki.server));
        String base = "nbds+unix://alice@/?tls-certificates=" + pki.client + "&socket=" + s.socket;
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(base);
            assertEquals("alice", h.getTlsUsername());
            assertTrue(h.getTlsNegotiated());
            roundTrip(h);
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(base + "&tls-hostname=localhost");
            assertEquals("localhost", h.getTlsHostname());
            assertTrue(h.getTlsNegotiated());
            roundTrip(h);
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(base + "&tls-verify-peer=false");
            assertFalse(h.getTlsVerifyPeer());
            assertTrue(h.getTlsNegotiated());
            roundTrip(h);
        }
    }

    @Test
    void uriTlsHostnameAndVerifyPeerParameters() throws Exception {
        Servers.Running s = tcp("--tls=require", certs(pki.serverWrongHost));
        String base = "nbds://localhost:" + s.port + "/?tls-certificates=" + pki.clientCaOnly;
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            fails(EPERM, "not for 'localhost'", () -> h.connectUri(base));
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(base + "&tls-hostname=other.example");
            assertEquals("other.example", h.getTlsHostname());
            roundTrip(h);
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(base + "&tls-verify-peer=false");
            assertFalse(h.getTlsVerifyPeer());
            assertTrue(h.getUri().endsWith("&tls-verify-peer=false"), h.getUri());
        }
    }
}
