/**
 * jnbd: the libnbd client API for the JVM.
 *
 * <p>The public API is the package {@code io.jnbd}; everything under
 * {@code io.jnbd.internal} is implementation. Native calls (AF_VSOCK sockets,
 * subprocesses with chosen descriptors) use the Foreign Function &amp; Memory API,
 * so run with {@code --enable-native-access=io.jnbd} (or {@code ALL-UNNAMED}
 * on the class path) to silence the JDK's warning.
 *
 * <p>TLS with X.509 certificates uses the JDK's TLS. TLS-PSK uses
 * BouncyCastle, which is optional: without it everything else works, and a
 * PSK connection fails with ENOTSUP. On the module path, add it with
 * {@code --add-modules org.bouncycastle.tls}.
 */
module io.jnbd {
    requires static org.bouncycastle.tls;

    exports io.jnbd;
    // The embedded server (module io.jnbd.server) shares the wire layer, transports and native calls.
    exports io.jnbd.internal.protocol to io.jnbd.server;
    exports io.jnbd.internal.transport to io.jnbd.server;
    exports io.jnbd.internal.posix to io.jnbd.server;
    exports io.jnbd.internal.tls to io.jnbd.server;
}
