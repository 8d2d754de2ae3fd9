package io.jnbd.internal.uri;

/**
 * Which URI schemes {@link UriPolicy#checkAllowed} accepts as far as TLS goes,
 * the three settings of libnbd's {@code nbd_set_uri_allow_tls(3)}.
 */
public enum TlsPolicy {
    /** {@code LIBNBD_TLS_DISABLE}: TLS schemes ({@code nbds...}) are refused. */
    DISABLE,
    /** {@code LIBNBD_TLS_ALLOW}, libnbd's default: TLS and plain schemes are both accepted. */
    ALLOW,
    /** {@code LIBNBD_TLS_REQUIRE}: only TLS schemes are accepted. */
    REQUIRE
}
