/**
 * TLS for NBD connections, entered after NBD_OPT_STARTTLS:
 * {@link io.jnbd.internal.tls.TlsTransport} runs a TLS client over another
 * transport, X.509 on the JDK's {@code SSLEngine} (credentials from libnbd's
 * certificates directory) or TLS-PSK on BouncyCastle, which is optional.
 */
package io.jnbd.internal.tls;
