package io.jnbd.internal.uri;

/**
 * The URI security settings of a handle, as pure checks: libnbd's
 * {@code nbd_set_uri_allow_transports(3)}, {@code nbd_set_uri_allow_tls(3)}
 * and {@code nbd_set_uri_allow_local_file(3)}. libnbd applies them while
 * {@code nbd_connect_uri(3)} reads the URI; "pre-filtering URIs is
 * error-prone", so the handle calls {@link #checkAllowed} on the result of
 * {@link NbdUri#parse} before acting on any of it. (libnbd checks the
 * transport and TLS permissions before the {@code socket} parameter, so a URI
 * that is both forbidden and malformed reports {@code EPERM} there and
 * {@code EINVAL} here.)
 */
public final class UriPolicy {

    /** Linux {@code EPERM}, libnbd's errno for every refusal here. */
    public static final int EPERM = 1;

    /** {@code LIBNBD_ALLOW_TRANSPORT_TCP}: {@code nbd://}, {@code nbds://}. */
    public static final int ALLOW_TRANSPORT_TCP = 0x1;
    /** {@code LIBNBD_ALLOW_TRANSPORT_UNIX}: {@code nbd+unix://}, {@code nbds+unix://}. */
    public static final int ALLOW_TRANSPORT_UNIX = 0x2;
    /** {@code LIBNBD_ALLOW_TRANSPORT_VSOCK}: {@code nbd+vsock://}, {@code nbds+vsock://}. */
    public static final int ALLOW_TRANSPORT_VSOCK = 0x4;
    /**
     * Every transport jnbd implements. libnbd's default is "any transport"
     * ({@code LIBNBD_ALLOW_TRANSPORT_MASK}); its 1.22 mask also has
     * {@code LIBNBD_ALLOW_TRANSPORT_SSH} (0x8), which no jnbd URI can need and
     * which {@link #checkAllowed} therefore ignores, like any unknown bit.
     */
    public static final int ALLOW_TRANSPORT_ALL =
            ALLOW_TRANSPORT_TCP | ALLOW_TRANSPORT_UNIX | ALLOW_TRANSPORT_VSOCK;

    /** libnbd's default for {@code nbd_set_uri_allow_tls}: both TLS and plain URIs. */
    public static final TlsPolicy DEFAULT_TLS = TlsPolicy.ALLOW;
    /** libnbd's default for {@code nbd_set_uri_allow_local_file}: local files are refused. */
    public static final boolean DEFAULT_ALLOW_LOCAL_FILE = false;

    private UriPolicy() {
    }

    /**
     * Refuses {@code u} if the handle's URI settings forbid it, checking in
     * libnbd's order:
     * <ol>
     * <li>the transport must be in {@code allowTransportsMask}
     *     ({@code ALLOW_TRANSPORT_*} bits; the default is
     *     {@link #ALLOW_TRANSPORT_ALL});</li>
     * <li>{@link TlsPolicy#DISABLE} refuses {@code nbds*} schemes and
     *     {@link TlsPolicy#REQUIRE} refuses plain ones (default
     *     {@link TlsPolicy#ALLOW} takes both);</li>
     * <li>unless {@code allowLocalFile} (default false), the parameters that
     *     make libnbd read local files, {@code tls-certificates} and
     *     {@code tls-psk-file}, are refused (when both are present,
     *     {@code tls-certificates} is reported).</li>
     * </ol>
     * Other parameters, including {@code tls-hostname}, {@code tls-verify-peer}
     * and the user name, are always allowed. Connecting to a Unix socket in the
     * local file system is governed by the transport mask alone, as in libnbd.
     *
     * @throws UriPolicyError with errno {@link #EPERM} naming what was refused
     */
    public static void checkAllowed(NbdUri u, int allowTransportsMask, TlsPolicy allowTls,
            boolean allowLocalFile) throws UriPolicyError {
        int bit = switch (u.transport()) {
            case TCP -> ALLOW_TRANSPORT_TCP;
            case UNIX -> ALLOW_TRANSPORT_UNIX;
            case VSOCK -> ALLOW_TRANSPORT_VSOCK;
        };
        if ((allowTransportsMask & bit) == 0) {
            throw new UriPolicyError("URI transport " + u.scheme() + " is not permitted", EPERM);
        }
        if ((u.tls() && allowTls == TlsPolicy.DISABLE) || (!u.tls() && allowTls == TlsPolicy.REQUIRE)) {
            throw new UriPolicyError("URI TLS setting " + u.scheme() + " is not permitted", EPERM);
        }
        String localFile = u.tlsCertificates() != null ? NbdUri.TLS_CERTIFICATES
                : u.tlsPskFile() != null ? NbdUri.TLS_PSK_FILE : null;
        if (!allowLocalFile && localFile != null) {
            throw new UriPolicyError("local file access (" + localFile + ") is not allowed,"
                    + " call nbd_set_uri_allow_local_file to enable this", EPERM);
        }
    }
}
