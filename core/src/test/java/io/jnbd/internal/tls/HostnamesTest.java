package io.jnbd.internal.tls;

import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RFC 6125 name matching on certificates made by certtool. */
class HostnamesTest {

    private static X509Certificate cert(Path dir, String template) throws Exception {
        String certtool = Servers.require("certtool");
        Path key = dir.resolve("key.pem");
        Path cfg = Files.writeString(dir.resolve("cert.cfg"), template);
        Path cert = dir.resolve("cert.pem");
        MoreServers.run(List.of(certtool, "--generate-privkey", "--key-type", "ecdsa", "--outfile", key.toString()));
        MoreServers.run(List.of(certtool, "--generate-self-signed", "--load-privkey", key.toString(), "--template",
                cfg.toString(), "--outfile", cert.toString()));
        return Pem.certificates(cert.toString(), Files.readAllBytes(cert)).getFirst();
    }

    @Test
    void subjectAlternativeNames() throws Exception {
        Path dir = Servers.tempDir();
        try {
            X509Certificate c = cert(dir, """
                    cn = "ignored.example"
                    dns_name = "localhost"
                    dns_name = "*.example.com"
                    ip_address = "127.0.0.1"
                    ip_address = "::1"
                    """);
            assertTrue(Hostnames.matches(c, "localhost"));
            assertTrue(Hostnames.matches(c, "LocalHost."));
            assertTrue(Hostnames.matches(c, "a.example.com"));
            assertFalse(Hostnames.matches(c, "example.com"), "a wildcard needs a label");
            assertFalse(Hostnames.matches(c, "a.b.example.com"), "a wildcard covers one label");
            assertFalse(Hostnames.matches(c, "ignored.example"), "the CN does not count beside dNSNames");
            assertTrue(Hostnames.matches(c, "127.0.0.1"));
            assertTrue(Hostnames.matches(c, "0:0:0:0:0:0:0:1"));
            assertFalse(Hostnames.matches(c, "127.0.0.2"));
            assertFalse(Hostnames.matches(c, "localhostx"));
            assertEquals("localhost, *.example.com, 127.0.0.1, 0:0:0:0:0:0:0:1", Hostnames.describe(c));
        } finally {
            MoreServers.deleteTree(dir);
        }
    }

    @Test
    void commonNameWithoutDnsNames() throws Exception {
        Path dir = Servers.tempDir();
        try {
            X509Certificate c = cert(dir, """
                    cn = "db.example"
                    organization = "a, b"
                    """);
            assertTrue(Hostnames.matches(c, "db.example"));
            assertFalse(Hostnames.matches(c, "other.example"));
            assertFalse(Hostnames.matches(c, "127.0.0.1"), "an address never matches a CN");
        } finally {
            MoreServers.deleteTree(dir);
        }
    }

    @Test
    void addressLiterals() {
        assertTrue(Hostnames.isIpLiteral("192.0.2.1"));
        assertTrue(Hostnames.isIpLiteral("::1"));
        assertTrue(Hostnames.isIpLiteral("2001:db8::5"));
        assertFalse(Hostnames.isIpLiteral("localhost"));
        assertFalse(Hostnames.isIpLiteral("db.example"));
    }
}
