package io.jnbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** NBD_OPT_STARTTLS with X.509 certificates made by openssl, as libnbd 1.22 and jnbd's client use it. */
class TlsTest {
    static Path pki;

    @BeforeAll
    static void certificates() throws Exception {
        String openssl = Servers.require("openssl");
        pki = Servers.tempDir();
        String dir = pki.toString();
        Files.writeString(pki.resolve("ext"), "subjectAltName=DNS:localhost\n");
        for (List<String> cmd : List.of(
                List.of(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/ca-key.pem",
                        "-out", dir + "/ca-cert.pem", "-days", "2", "-subj", "/CN=jnbd-test-ca"),
                List.of(openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/server-key.pem",
                        "-out", dir + "/server.csr", "-subj", "/CN=localhost"),
                List.of(openssl, "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca-cert.pem", "-CAkey",
                        dir + "/ca-key.pem", "-CAcreateserial", "-out", dir + "/server-cert.pem", "-days", "2",
                        "-extfile", dir + "/ext"))) {
            Oracle.Result r = Oracle.run(cmd);
            assertEquals(0, r.status(), r.stderr());
        }
    }

    @AfterAll
    static void removeCertificates() throws IOException {
        MoreServers.deleteTree(pki);
    }

    private static NbdServer server(Path dir, boolean require) throws IOException {
        return NbdServer.builder().export("", Backend.memory(4 << 20)).tls(pki, require)
                .unixSocket(dir.resolve("s")).start();
    }

    private static String tlsUri(NbdServer server) {
        return "nbds+unix:///?socket=" + server.unixSocket() + "&tls-certificates=" + pki + "&tls-hostname=localhost";
    }

    @Test
    void libnbdUsesTlsAndPlaintextIsRefusedWhenRequired() throws Exception {
        Oracle.requireLibnbd();
        Path dir = Servers.tempDir();
        try (NbdServer server = server(dir, true)) {
            Oracle.Result sh = Oracle.libnbd("nbdsh", "-c", "h.set_uri_allow_local_file(True)", "-c",
                    "h.connect_uri('" + tlsUri(server) + "')", "-c", """
                    assert h.get_tls_negotiated()
                    assert h.get_extended_headers_negotiated()
                    h.pwrite(b"secret" * 1000, 12345)
                    assert h.pread(6, 12345 + 6 * 999) == b"secret"
                    """);
            assertEquals(0, sh.status(), sh.stderr());
            Oracle.Result plain = Oracle.libnbd("nbdinfo", server.uri());
            assertNotEquals(0, plain.status());
            assertTrue(plain.stderr().contains("requires TLS"), plain.stderr());
        } finally {
            MoreServers.deleteTree(dir);
        }
    }

    @Test
    void jnbdClientUpgradesWhenTlsIsOffered() throws Exception {
        Path dir = Servers.tempDir();
        try (NbdServer server = server(dir, false); NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.connectUri(tlsUri(server));
            assertTrue(h.getTlsNegotiated());
            byte[] data = new byte[300_000];
            new java.util.Random(3).nextBytes(data);
            h.pwrite(data, 1000);
            byte[] back = new byte[data.length];
            h.pread(back, 1000);
            assertArrayEquals(data, back);
        } finally {
            MoreServers.deleteTree(dir);
        }
    }
}
