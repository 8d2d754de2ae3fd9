package io.jnbd.internal.uri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NbdUriFormatTest {

    @Test
    void tcpKeepsTheDefaultPortAndAPath() {
        // nbd_get_uri always writes host:port and "/" + export name.
        assertEquals("nbd://localhost:10809/", NbdUri.builder().build().format());
        assertEquals("nbd://example.com:10809/disk",
                NbdUri.builder().tcp("example.com", "10809").exportName("disk").build().format());
    }

    @Test
    void ipv6IsBracketed() {
        assertEquals("nbd://[::1]:10809/export",
                NbdUri.builder().tcp("::1", "10809").exportName("export").build().format());
        assertEquals("nbd://127.0.0.1:2000/",
                NbdUri.builder().tcp("127.0.0.1", "2000").build().format());
    }

    @Test
    void tlsUserName() {
        assertEquals("nbds://alice@example.com:10809/disk", NbdUri.builder().tls(true)
                .tcp("example.com", "10809").tlsUsername("alice").exportName("disk").build().format());
        assertEquals("nbds://a%3Ab%40c@h:1/", NbdUri.builder().tls(true)
                .tcp("h", "1").tlsUsername("a:b@c").build().format());
    }

    @Test
    void unix() {
        assertEquals("nbd+unix:///?socket=/tmp/sock",
                NbdUri.builder().unix("/tmp/sock").build().format());
        assertEquals("nbds+unix://alice@/export?socket=/tmp/s&tls-certificates=certs",
                NbdUri.builder().tls(true).unix("/tmp/s").tlsUsername("alice").exportName("export")
                        .tlsCertificates("certs").build().format());
        assertEquals("nbd+unix:///?socket=%00/abstract",
                NbdUri.builder().unix("\0/abstract").build().format());
        assertEquals("nbd+unix:///?socket=/tmp/a%20b%26c%3Dd%23e%25f%2Bg",
                NbdUri.builder().unix("/tmp/a b&c=d#e%f+g").build().format());
    }

    @Test
    void vsock() {
        assertEquals("nbd+vsock://2:10809/", NbdUri.builder().vsock(2, 10809).build().format());
        assertEquals("nbds+vsock://4294967295:4294967295/x",
                NbdUri.builder().tls(true).vsock(0xFFFF_FFFFL, 0xFFFF_FFFFL).exportName("x").build().format());
    }

    @Test
    void exportNamesAreEncodedLikeNbdinfo() {
        // libnbd's info/info-uri.sh expectations.
        assertEquals("nbd+unix:///%25%25?socket=s", NbdUri.builder().unix("s").exportName("%%").build().format());
        assertEquals("nbd+unix:///hello%20world?socket=s",
                NbdUri.builder().unix("s").exportName("hello world").build().format());
        assertEquals("nbd+unix:///%E3%83%AA%E3%82%BD%E3%83%BC%E3%82%B9?socket=s",
                NbdUri.builder().unix("s").exportName("リソース").build().format());
        assertEquals("nbd://h:1//slash", NbdUri.builder().tcp("h", "1").exportName("/slash").build().format());
        assertEquals("nbd://h:1/a%3Fb%23c/d", NbdUri.builder().tcp("h", "1").exportName("a?b#c/d").build().format());
    }

    @Test
    void tlsParametersInNbdGetUriOrder() {
        NbdUri u = NbdUri.builder().tls(true).tcp("h", "10809")
                .tlsVerifyPeer(false).tlsHostname("srv").tlsPskFile("/k.psk").tlsCertificates("/pki")
                .queryParameter("x-a", "1").build();
        assertEquals("nbds://h:10809/?tls-certificates=/pki&tls-psk-file=/k.psk&tls-hostname=srv"
                + "&tls-verify-peer=false&x-a=1", u.format());
        assertEquals("nbds://h:10809/?tls-verify-peer=true",
                NbdUri.builder().tls(true).tcp("h", "10809").tlsVerifyPeer(true).build().format());
    }

    @Test
    void parsedUrisFormatCanonically() throws Exception {
        assertEquals("nbd://localhost:10809/", NbdUri.parse("nbd://localhost").format());
        assertEquals("nbd+vsock://2:10809/", NbdUri.parse("nbd+vsock:///").format());
        assertEquals("nbds://alice@h:10809/?tls-verify-peer=false",
                NbdUri.parse("NBDS://h/?tls-username=alice&TLS-Verify-Peer=off").format());
        assertEquals("nbd+unix:///e?socket=/b&x-y=1",
                NbdUri.parse("nbd+unix:///e?x-y=1&socket=/a&SOCKET=/b").format());
        assertEquals("nbd://h:10809/caf%C3%A9", NbdUri.parse("nbd://h/café").format());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "nbd://localhost:10809/",
        "nbd://[::1]:10809/export",
        "nbds://alice@example.com:10809/disk",
        "nbd+unix:///?socket=/tmp/sock",
        "nbd+unix:///export?socket=/tmp/s",
        "nbd+vsock://2:10809/",
        "nbd://example.com:10809//slash",
        "nbd://example.com:10809/hello%20world",
        "nbds+unix://alice@/?socket=/tmp/nbd.sock&tls-certificates=certs",
        "nbds://alice@localhost:12345/?tls-psk-file=keys.psk",
        "nbds://h:10809/?tls-hostname=server.example.com&tls-verify-peer=false",
        "nbd://h:10809/?x-experimental=1",
    })
    void canonicalUrisAreFixedPoints(String uri) throws Exception {
        assertEquals(uri, NbdUri.parse(uri).format());
    }

    @Test
    void constructorEnforcesInvariants() {
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().tcp("", "1").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().tcp("a:b", "1").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().tcp("h", "0").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().tcp("h", "010").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().tcp("h", "65536").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().tcp("h", "nbd").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().unix("").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().vsock(-1, 1).build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().vsock(2, 0).build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().vsock(1L << 32, 1).build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().exportName("a\0b").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().tlsHostname("\0").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().queryParameter("socket", "x"));
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().queryParameter("", "x").build());
        assertThrows(IllegalArgumentException.class, () -> NbdUri.builder().queryParameter("x", "\0").build());
        assertThrows(IllegalArgumentException.class, () -> new NbdUri(false, UriTransport.UNIX, "h", null,
                "/s", 0, 0, "", null, null, null, null, null, Map.of()));
        Map<String, String> withNull = new HashMap<>();
        withNull.put("x", null);
        assertThrows(IllegalArgumentException.class, () -> new NbdUri(false, UriTransport.TCP, "h", "1",
                null, 0, 0, "", null, null, null, null, null, withNull));
    }

    @Test
    void roundTripsRandomUris() throws Exception {
        Random rnd = new Random(0x6E6264L);
        for (int i = 0; i < 5000; i++) {
            NbdUri u = randomUri(rnd);
            String text = u.format();
            NbdUri back = NbdUri.parse(text);
            assertEquals(u, back, text);
            assertEquals(text, back.format());
            assertTrue(NbdUri.isUri(text), text);
        }
    }

    private static NbdUri randomUri(Random rnd) {
        NbdUri.Builder b = NbdUri.builder().tls(rnd.nextBoolean());
        switch (rnd.nextInt(3)) {
            case 0 -> b.tcp(randomHost(rnd), Integer.toString(1 + rnd.nextInt(65535)));
            case 1 -> b.unix((rnd.nextInt(8) == 0 ? "\0" : "/") + randomText(rnd, 1));
            default -> b.vsock(rnd.nextLong(0x1_0000_0000L), 1 + rnd.nextLong(0xFFFF_FFFFL));
        }
        b.exportName(randomText(rnd, 0));
        if (rnd.nextBoolean()) {
            b.tlsUsername(randomText(rnd, 0));
        }
        if (rnd.nextInt(3) == 0) {
            b.tlsCertificates(randomText(rnd, 0));
        }
        if (rnd.nextInt(3) == 0) {
            b.tlsPskFile(randomText(rnd, 0));
        }
        if (rnd.nextInt(3) == 0) {
            b.tlsHostname(randomText(rnd, 0));
        }
        b.tlsVerifyPeer(switch (rnd.nextInt(3)) {
            case 0 -> null;
            case 1 -> Boolean.TRUE;
            default -> Boolean.FALSE;
        });
        for (int n = rnd.nextInt(3); n > 0; n--) {
            b.queryParameter("x-" + randomText(rnd, 1), randomText(rnd, 0));
        }
        return b.build();
    }

    private static final String[] IPV6 = {
        "::", "::1", "1::", "fe80::1:2", "2001:db8::8:800:200c:417a", "1:2:3:4:5:6:7:8",
        "::ffff:192.0.2.128", "1:2:3:4:5:6:1.2.3.4", "FFFF::abcd",
    };

    private static String randomHost(Random rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> IPV6[rnd.nextInt(IPV6.length)];
            case 1 -> rnd.nextInt(256) + "." + rnd.nextInt(256) + "." + rnd.nextInt(256) + "." + rnd.nextInt(256);
            default -> randomText(rnd, 1).replace(':', '-');
        };
    }

    /** Characters that stress the encoder: structure, '%', '+', spaces, controls, non-ASCII. */
    private static final int[] ALPHABET = {
        'a', 'Z', '0', '-', '.', '_', '~', '/', '?', '#', '[', ']', '@', ':', '!', '$', '&', '\'', '(', ')',
        '*', '+', ',', ';', '=', '%', ' ', '"', '<', '>', '\\', '^', '`', '{', '|', '}', '\t', 0x7F,
        0xE9, 0x0300, 0x30EA, 0xFFFD, 0x1F600, 0x10FFFF,
    };

    private static String randomText(Random rnd, int minLength) {
        int n = minLength + rnd.nextInt(8);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.appendCodePoint(ALPHABET[rnd.nextInt(ALPHABET.length)]);
        }
        return sb.toString();
    }

    @Test
    void isUriFollowsNbdIsUri() {
        for (String yes : new String[] {
            "nbd://", "nbd://localhost", "nbds://h/x", "nbd+unix:///?socket=/s", "nbds+unix://",
            "nbd+vsock:///", "nbds+vsock://2", "nbd+ssh://server/", "nbds+ssh://s", "NBD://H",
            "Nbd+Unix://", "nbd://bad uri with spaces",
        }) {
            assertTrue(NbdUri.isUri(yes), yes);
        }
        for (String no : new String[] {
            "", "nbd", "nbd:", "nbd:/", "nbd:localhost", "nbd+unix:/?socket=x", "/tmp/disk.img",
            "disk.img", "localhost:10809", "http://example.com/", "nbd+tcp://h", " nbd://h",
            "file:///tmp/x", "nbdx://h",
        }) {
            assertFalse(NbdUri.isUri(no), no);
        }
    }
}
