package io.jnbd.internal.tls;

import io.jnbd.Tls;

/**
 * A handle's TLS settings, captured when it starts connecting (libnbd lets
 * them change only before that).
 *
 * @param mode         {@code nbd_set_tls}: whether the handshake asks for TLS, and whether it must get it
 * @param certificates {@code nbd_set_tls_certificates}: the X.509 directory, or null for libnbd's defaults
 * @param verifyPeer   {@code nbd_set_tls_verify_peer}: check the server's certificate
 * @param username     the PSK identity ({@code nbd_get_tls_username}: the local user name unless set)
 * @param pskFile      {@code nbd_set_tls_psk_file}: psktool's key file; when set, PSK replaces X.509
 * @param hostname     the name the server's certificate must carry and SNI announces:
 *                     {@code nbd_set_tls_hostname}, else the TCP host connected to; null if neither
 */
public record TlsConfig(Tls mode, String certificates, boolean verifyPeer, String username, String pskFile,
        String hostname) {

    /** No TLS: the settings of a handle that never called {@code setTls}. */
    public static final TlsConfig DISABLED = new TlsConfig(Tls.DISABLE, null, true, null, null, null);
}
