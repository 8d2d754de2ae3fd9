package io.jnbd.internal.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

class CipherSuiteOrderTest {
    @Test
    void aes128GcmGoesJustAheadOfItsAes256Twin() {
        String[] in = {
            "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        };
        String[] want = {
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            // No AES-128 twin: stays where it was; a DHE suite does not jump ahead of ECDHE.
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        };
        assertArrayEquals(want, X509Tls.preferAes128(in, null));
    }

    @Test
    void theJdkDefaultsKeepTheirSetAndPutAes128First() throws Exception {
        String[] defaults = SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites();
        String[] ordered = X509Tls.preferAes128(defaults, null);
        assertEquals(Set.of(defaults), Set.of(ordered));
        List<String> list = List.of(ordered);
        assertEquals("TLS_AES_128_GCM_SHA256", ordered[0]);
        assertTrue(list.indexOf("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
                < list.indexOf("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"), list::toString);
    }

    @Test
    void anOrderTheUserSetIsKept() {
        String[] in = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"};
        assertArrayEquals(in, X509Tls.preferAes128(in, "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256"));
    }
}
