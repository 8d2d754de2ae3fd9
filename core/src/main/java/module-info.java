/**
 * jnbd: the libnbd client API for the JVM.
 *
 * <p>The public API is the package {@code io.jnbd}; everything under
 * {@code io.jnbd.internal} is implementation. Native calls (AF_VSOCK sockets,
 * subprocesses with chosen descriptors) use the Foreign Function &amp; Memory API,
 * so run with {@code --enable-native-access=io.jnbd} (or {@code ALL-UNNAMED}
 * on the class path) to silence the JDK's warning.
 */
module io.jnbd {
    exports io.jnbd;
}
