package io.jnbd;

/** TLS setting ({@code LIBNBD_TLS_*}); the ordinal is libnbd's value. */
public enum Tls {
    /** Never use TLS. */
    DISABLE,
    /** Use TLS if the server offers it, otherwise plaintext. */
    ALLOW,
    /** Use TLS or fail. */
    REQUIRE
}
