package io.jnbd.internal.uri;

import static io.jnbd.internal.uri.UriPolicy.ALLOW_TRANSPORT_ALL;
import static io.jnbd.internal.uri.UriPolicy.ALLOW_TRANSPORT_TCP;
import static io.jnbd.internal.uri.UriPolicy.ALLOW_TRANSPORT_UNIX;
import static io.jnbd.internal.uri.UriPolicy.ALLOW_TRANSPORT_VSOCK;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class UriPolicyTest {

    private static void allowed(String uri, int mask, TlsPolicy tls, boolean localFile) throws UriSyntaxError {
        NbdUri u = NbdUri.parse(uri);
        assertDoesNotThrow(() -> UriPolicy.checkAllowed(u, mask, tls, localFile), uri);
    }

    private static void refused(String uri, int mask, TlsPolicy tls, boolean localFile, String message)
            throws UriSyntaxError {
        NbdUri u = NbdUri.parse(uri);
        UriPolicyError e = assertThrows(UriPolicyError.class, () -> UriPolicy.checkAllowed(u, mask, tls, localFile));
        assertEquals(message, e.getMessage());
        assertEquals(UriPolicy.EPERM, e.getErrno());
        assertEquals(1, e.getErrno());
    }

    @Test
    void libnbdDefaults() throws Exception {
        assertEquals(7, ALLOW_TRANSPORT_ALL);
        assertEquals(TlsPolicy.ALLOW, UriPolicy.DEFAULT_TLS);
        assertFalse(UriPolicy.DEFAULT_ALLOW_LOCAL_FILE);
        for (String uri : new String[] {
            "nbd://h", "nbds://h", "nbd+unix:///?socket=/s", "nbds+unix:///?socket=/s",
            "nbd+vsock:///", "nbds+vsock:///", "nbds://h/?tls-hostname=x&tls-verify-peer=0&tls-username=u",
        }) {
            allowed(uri, ALLOW_TRANSPORT_ALL, UriPolicy.DEFAULT_TLS, UriPolicy.DEFAULT_ALLOW_LOCAL_FILE);
        }
    }

    @Test
    void transports() throws Exception {
        allowed("nbd://h", ALLOW_TRANSPORT_TCP, TlsPolicy.ALLOW, false);
        refused("nbd://h", ALLOW_TRANSPORT_UNIX | ALLOW_TRANSPORT_VSOCK, TlsPolicy.ALLOW, false,
                "URI transport nbd is not permitted");
        refused("nbds://h", 0, TlsPolicy.ALLOW, false, "URI transport nbds is not permitted");
        allowed("nbd+unix:///?socket=/s", ALLOW_TRANSPORT_UNIX, TlsPolicy.ALLOW, false);
        refused("NBD+UNIX:///?socket=/s", ALLOW_TRANSPORT_TCP, TlsPolicy.ALLOW, false,
                "URI transport nbd+unix is not permitted");
        allowed("nbd+vsock://2", ALLOW_TRANSPORT_VSOCK, TlsPolicy.ALLOW, false);
        refused("nbds+vsock://2", ALLOW_TRANSPORT_TCP | ALLOW_TRANSPORT_UNIX, TlsPolicy.ALLOW, false,
                "URI transport nbds+vsock is not permitted");
        // libnbd's SSH bit (0x8) and unknown bits allow nothing here.
        refused("nbd://h", 0x8 | 0x10, TlsPolicy.ALLOW, false, "URI transport nbd is not permitted");
        allowed("nbd://h", -1, TlsPolicy.ALLOW, false);
    }

    @Test
    void tls() throws Exception {
        allowed("nbd://h", ALLOW_TRANSPORT_ALL, TlsPolicy.DISABLE, false);
        refused("nbds://h", ALLOW_TRANSPORT_ALL, TlsPolicy.DISABLE, false, "URI TLS setting nbds is not permitted");
        refused("nbds+unix:///?socket=/s", ALLOW_TRANSPORT_ALL, TlsPolicy.DISABLE, false,
                "URI TLS setting nbds+unix is not permitted");
        allowed("nbds://h", ALLOW_TRANSPORT_ALL, TlsPolicy.REQUIRE, false);
        allowed("nbds+vsock://2", ALLOW_TRANSPORT_ALL, TlsPolicy.REQUIRE, false);
        refused("nbd://h", ALLOW_TRANSPORT_ALL, TlsPolicy.REQUIRE, false, "URI TLS setting nbd is not permitted");
        refused("nbd+vsock://2", ALLOW_TRANSPORT_ALL, TlsPolicy.REQUIRE, false,
                "URI TLS setting nbd+vsock is not permitted");
    }

    @Test
    void transportIsCheckedBeforeTls() throws Exception {
        refused("nbds+unix:///?socket=/s", ALLOW_TRANSPORT_TCP, TlsPolicy.DISABLE, false,
                "URI transport nbds+unix is not permitted");
    }

    @Test
    void localFiles() throws Exception {
        refused("nbds://h/?tls-certificates=/pki", ALLOW_TRANSPORT_ALL, TlsPolicy.ALLOW, false,
                "local file access (tls-certificates) is not allowed, call nbd_set_uri_allow_local_file to enable this");
        refused("nbds+unix://alice@/?socket=/s&tls-psk-file=keys.psk", ALLOW_TRANSPORT_ALL, TlsPolicy.ALLOW, false,
                "local file access (tls-psk-file) is not allowed, call nbd_set_uri_allow_local_file to enable this");
        refused("nbds://h/?tls-psk-file=k&tls-certificates=c", ALLOW_TRANSPORT_ALL, TlsPolicy.ALLOW, false,
                "local file access (tls-certificates) is not allowed, call nbd_set_uri_allow_local_file to enable this");
        // Also without TLS: libnbd checks the parameter, not whether it will be used.
        refused("nbd://h/?TLS-PSK-FILE=k", ALLOW_TRANSPORT_ALL, TlsPolicy.ALLOW, false,
                "local file access (tls-psk-file) is not allowed, call nbd_set_uri_allow_local_file to enable this");
        allowed("nbds://h/?tls-psk-file=k&tls-certificates=c", ALLOW_TRANSPORT_ALL, TlsPolicy.ALLOW, true);
        refused("nbd://h/?tls-certificates=c", ALLOW_TRANSPORT_ALL, TlsPolicy.REQUIRE, true,
                "URI TLS setting nbd is not permitted");
    }
}
