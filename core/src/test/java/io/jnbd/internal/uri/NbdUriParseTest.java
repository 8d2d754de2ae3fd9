package io.jnbd.internal.uri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class NbdUriParseTest {

    private static NbdUri parse(String s) throws UriSyntaxError {
        return NbdUri.parse(s);
    }

    @Test
    void plainTcpDefaults() throws Exception {
        NbdUri u = parse("nbd://localhost");
        assertFalse(u.tls());
        assertEquals(UriTransport.TCP, u.transport());
        assertEquals("localhost", u.host());
        assertEquals("10809", u.port());
        assertEquals("", u.exportName());
        assertNull(u.socketPath());
        assertEquals(0, u.vsockCid());
        assertEquals(0, u.vsockPort());
        assertNull(u.tlsUsername());
        assertNull(u.tlsCertificates());
        assertNull(u.tlsVerifyPeer());
        assertNull(u.tlsPskFile());
        assertNull(u.tlsHostname());
        assertEquals(Map.of(), u.query());
    }

    @Test
    void explicitPortAndEmptyPath() throws Exception {
        NbdUri u = parse("nbd://localhost:10809/");
        assertEquals("localhost", u.host());
        assertEquals("10809", u.port());
        assertEquals("", u.exportName());
        assertEquals("2000", parse("nbd://127.0.0.1:2000/").port());
        assertEquals("127.0.0.1", parse("nbd://127.0.0.1:2000/").host());
    }

    @Test
    void portIsNormalisedToDecimal() throws Exception {
        assertEquals("10810", parse("nbd://h:010810").port());
        assertEquals("10809", parse("nbd://h:/").port());
    }

    @Test
    void missingHostMeansLocalhost() throws Exception {
        assertEquals("localhost", parse("nbd:///disk").host());
        assertEquals("disk", parse("nbd:///disk").exportName());
        NbdUri u = parse("nbd://:2000");
        assertEquals("localhost", u.host());
        assertEquals("2000", u.port());
    }

    @Test
    void ipv6Literal() throws Exception {
        NbdUri u = parse("nbd://[::1]:10809/export");
        assertEquals("::1", u.host());
        assertEquals("10809", u.port());
        assertEquals("export", u.exportName());
        assertEquals("fe80::1:2", parse("nbd://[fe80::1:2]").host());
        assertEquals("::ffff:192.0.2.1", parse("nbds://[::ffff:192.0.2.1]/").host());
        assertEquals("1:2:3:4:5:6:7:8", parse("nbd://[1:2:3:4:5:6:7:8]:1/").host());
    }

    @Test
    void tlsUserInfo() throws Exception {
        NbdUri u = parse("nbds://alice@example.com/disk");
        assertTrue(u.tls());
        assertEquals(UriTransport.TCP, u.transport());
        assertEquals("alice", u.tlsUsername());
        assertEquals("example.com", u.host());
        assertEquals("disk", u.exportName());
    }

    @Test
    void userInfoIsKeptWholeAndDecoded() throws Exception {
        // libnbd passes everything before '@' to nbd_set_tls_username.
        assertEquals("a:b", parse("nbds://a:b@h/").tlsUsername());
        assertEquals("al ice", parse("nbds://al%20ice@h/").tlsUsername());
        assertEquals("", parse("nbds://@h/").tlsUsername());
        // Not refused without TLS either: libnbd sets the user name regardless.
        assertEquals("bob", parse("nbd://bob@h/").tlsUsername());
    }

    @Test
    void tlsUsernameParameter() throws Exception {
        assertEquals("carol", parse("nbds://h/?tls-username=carol").tlsUsername());
        // The user-info wins: libnbd applies it after the query parameters.
        assertEquals("alice", parse("nbds://alice@h/?tls-username=carol").tlsUsername());
        assertEquals("carol", parse("nbds://alice@h/?tls-username=carol").query().get("tls-username"));
    }

    @Test
    void unixSocket() throws Exception {
        NbdUri u = parse("nbd+unix:///?socket=/tmp/sock");
        assertFalse(u.tls());
        assertEquals(UriTransport.UNIX, u.transport());
        assertEquals("/tmp/sock", u.socketPath());
        assertEquals("", u.exportName());
        assertNull(u.host());
        assertNull(u.port());
        assertEquals(Map.of("socket", "/tmp/sock"), u.query());

        NbdUri e = parse("nbd+unix:///export?socket=/tmp/s");
        assertEquals("export", e.exportName());
        assertEquals("/tmp/s", e.socketPath());

        // From libnbd's error hint and tests: no path at all.
        assertEquals("/tmp/s", parse("nbd+unix://?socket=/tmp/s").socketPath());
    }

    @Test
    void unixAuthorityHostAndPortAreIgnored() throws Exception {
        NbdUri u = parse("nbd+unix://somehost:99/x?socket=s");
        assertNull(u.host());
        assertNull(u.port());
        assertEquals("x", u.exportName());
    }

    @Test
    void manPageExamples() throws Exception {
        NbdUri a = parse("nbd://example.com");
        assertEquals("example.com", a.host());
        assertEquals("10809", a.port());
        assertFalse(a.tls());

        NbdUri b = parse("nbds://example.com");
        assertTrue(b.tls());
        assertEquals("example.com", b.host());

        NbdUri c = parse("nbd+unix:///foo?socket=/tmp/nbd.sock");
        assertEquals("foo", c.exportName());
        assertEquals("/tmp/nbd.sock", c.socketPath());

        NbdUri d = parse("nbds+unix://alice@/?socket=/tmp/nbd.sock&tls-certificates=certs");
        assertTrue(d.tls());
        assertEquals(UriTransport.UNIX, d.transport());
        assertEquals("alice", d.tlsUsername());
        assertEquals("/tmp/nbd.sock", d.socketPath());
        assertEquals("certs", d.tlsCertificates());
        assertEquals(List.of("socket", "tls-certificates"), List.copyOf(d.query().keySet()));

        NbdUri e = parse("nbd+vsock:///");
        assertEquals(UriTransport.VSOCK, e.transport());
        assertEquals(2, e.vsockCid());
        assertEquals(10809, e.vsockPort());
    }

    @Test
    void libnbdTestSuiteUris() throws Exception {
        NbdUri psk = parse("nbds://alice@localhost:12345/?tls-psk-file=keys.psk");
        assertEquals("alice", psk.tlsUsername());
        assertEquals("keys.psk", psk.tlsPskFile());
        assertEquals("12345", psk.port());

        NbdUri pki = parse("nbds+unix://alice@/?tls-certificates=pki&socket=/tmp/nbdXXXX");
        assertEquals("pki", pki.tlsCertificates());
        assertEquals("/tmp/nbdXXXX", pki.socketPath());

        NbdUri hello = parse("nbd+unix:///hello?socket=/run/s");
        assertEquals("hello", hello.exportName());

        NbdUri v = parse("nbd+vsock://1:4000");
        assertEquals(1, v.vsockCid());
        assertEquals(4000, v.vsockPort());
        assertEquals("", v.exportName());

        assertEquals("::1", parse("nbd://[::1]:4000/").host());
    }

    @Test
    void vsock() throws Exception {
        NbdUri u = parse("nbd+vsock://2:10809/");
        assertEquals(UriTransport.VSOCK, u.transport());
        assertEquals(2, u.vsockCid());
        assertEquals(10809, u.vsockPort());
        assertNull(u.host());
        assertNull(u.port());

        NbdUri max = parse("nbds+vsock://4294967295:4294967295/x");
        assertTrue(max.tls());
        assertEquals(0xFFFF_FFFFL, max.vsockCid());
        assertEquals(0xFFFF_FFFFL, max.vsockPort());
        assertEquals("x", max.exportName());

        assertEquals(3, parse("nbd+vsock://3/").vsockCid());
        assertEquals(10809, parse("nbd+vsock://3/").vsockPort());
        assertEquals(0, parse("nbd+vsock://0:1").vsockCid());
        assertEquals(7, parse("nbd+vsock://:7").vsockPort());
        assertEquals(2, parse("nbd+vsock://:7").vsockCid());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            nbd://example.com/disk           | disk
            nbd+unix:///disk?socket=sock     | disk
            nbd://example.com/               | ''
            nbd://example.com                | ''
            nbd://example.com//disk          | /disk
            nbd://example.com/hello%20world  | hello world
            nbd://example.com//slash         | /slash
            nbd://h/a/b/c                    | a/b/c
            nbd://h/%2F                      | /
            nbd://h/caf%C3%A9                | café
            nbd://h/café                     | café
            nbd://h/%E3%83%AA%E3%82%BD%E3%83%BC%E3%82%B9 | リソース
            nbd://h/%F0%9F%98%80             | 😀
            nbd://h/%25%25                   | %%
            nbd://h/a+b                      | a+b
            nbd://h/a%3Fb%23c                | a?b#c
            nbd://h/x?y=1                    | x
            nbd://h/x#frag                   | x
            """)
    void exportNames(String uri, String expected) throws Exception {
        assertEquals(expected, parse(uri).exportName());
    }

    @Test
    void subDelimitersAreLiteralInThePath() throws Exception {
        assertEquals("!$&'()*+,;=:@", parse("nbd://h/!$&'()*+,;=:@").exportName());
    }

    @Test
    void tlsQueryParameters() throws Exception {
        NbdUri u = parse("nbds://h/e?tls-certificates=/etc/pki/nbd&tls-psk-file=/k.psk"
                + "&tls-hostname=server.example.com&tls-verify-peer=false");
        assertEquals("/etc/pki/nbd", u.tlsCertificates());
        assertEquals("/k.psk", u.tlsPskFile());
        assertEquals("server.example.com", u.tlsHostname());
        assertEquals(Boolean.FALSE, u.tlsVerifyPeer());
        assertEquals(List.of("tls-certificates", "tls-psk-file", "tls-hostname", "tls-verify-peer"),
                List.copyOf(u.query().keySet()));
        assertEquals("/k.psk", u.query().get("tls-psk-file"));
    }

    @Test
    void tlsHostnameOnUnixSocket() throws Exception {
        NbdUri u = parse("nbds+unix:///?socket=/s&tls-hostname=example.com");
        assertEquals("example.com", u.tlsHostname());
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "true", "TRUE", "t", "yes", "Y", "on", "On"})
    void verifyPeerTrue(String v) throws Exception {
        assertEquals(Boolean.TRUE, parse("nbds://h/?tls-verify-peer=" + v).tlsVerifyPeer());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "false", "False", "f", "no", "N", "off", "OFF"})
    void verifyPeerFalse(String v) throws Exception {
        assertEquals(Boolean.FALSE, parse("nbds://h/?tls-verify-peer=" + v).tlsVerifyPeer());
    }

    @Test
    void queryParameterSyntax() throws Exception {
        // '&' and ';' both separate; a bare name has an empty value; "=v" and empty items are skipped.
        NbdUri u = parse("nbd://h/?a=1;b&&c=;=skipped&d=x=y&e=%26%3B%3D");
        assertEquals(List.of("a", "b", "c", "d", "e"), List.copyOf(u.query().keySet()));
        assertEquals("1", u.query().get("a"));
        assertEquals("", u.query().get("b"));
        assertEquals("", u.query().get("c"));
        assertEquals("x=y", u.query().get("d"));
        assertEquals("&;=", u.query().get("e"));
        assertEquals(Map.of(), parse("nbd://h/?").query());
    }

    @Test
    void plusIsNotASpace() throws Exception {
        assertEquals("a+b", parse("nbd+unix:///?socket=a+b").socketPath());
    }

    @Test
    void parameterNamesAreCaseInsensitiveAndLastValueWins() throws Exception {
        NbdUri u = parse("NBD+UNIX:///?SOCKET=/a&Tls-Hostname=x&socket=/b&tls-hostname=y");
        assertEquals(UriTransport.UNIX, u.transport());
        assertEquals("/b", u.socketPath());
        assertEquals("y", u.tlsHostname());
        assertEquals(List.of("SOCKET", "Tls-Hostname", "socket", "tls-hostname"), List.copyOf(u.query().keySet()));
        NbdUri r = parse("nbd://h/?x-a=1&x-b=2&x-a=3");
        assertEquals(List.of("x-a", "x-b"), List.copyOf(r.query().keySet()));
        assertEquals("3", r.query().get("x-a"));
    }

    @Test
    void caseFoldingIsAsciiOnlyLikeStrcasecmp() throws Exception {
        // KELVIN SIGN and LATIN SMALL LETTER DOTLESS I fold to 'k' and 'I' in Unicode, not in C.
        NbdUri u = parse("nbds://h/?tls-ps\u212A-file=k");
        assertNull(u.tlsPskFile());
        assertEquals(Map.of("tls-ps\u212A-file", "k"), u.query());
        assertFalse(NbdUri.isUri("nbd+un\u0131x:///?socket=/s"));
    }

    @Test
    void unknownParametersAreKept() throws Exception {
        NbdUri u = parse("nbd://h/?x-experimental=1&tls-type=x509");
        assertEquals(Map.of("x-experimental", "1", "tls-type", "x509"), u.query());
    }

    @Test
    void schemesAreCaseInsensitive() throws Exception {
        assertTrue(parse("NBDS://h").tls());
        assertEquals(UriTransport.VSOCK, parse("Nbd+Vsock://2").transport());
    }

    @Test
    void abstractSocketNamespace() throws Exception {
        assertEquals("\0/abstract", parse("nbd+unix:///?socket=%00/abstract").socketPath());
    }

    @Test
    void percentEncodedHostAndSocket() throws Exception {
        assertEquals("ex ample", parse("nbd://ex%20ample/").host());
        assertEquals("/tmp/a b&c", parse("nbd+unix:///?socket=/tmp/a%20b%26c").socketPath());
        assertEquals("/tmp/ソケット", parse("nbd+unix:///?socket=/tmp/ソケット").socketPath());
    }

    @Test
    void queryMapIsUnmodifiable() throws Exception {
        NbdUri u = parse("nbd://h/?a=1");
        assertThrows(UnsupportedOperationException.class, () -> u.query().put("b", "2"));
    }
}
